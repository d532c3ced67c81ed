"""The workload interface: four verbs, as few as Flower's client API.

A workload is the model, the data loading, the training and the evaluation of a
federation, in one object that each account runs on its own data::

    build_model(seed, stats=None) -> nn.Module          the model, deterministic from seed
    load_data(store, prefix)      -> AccountData        this account's train (+ eval) split
    train(model, examples, settings) -> TrainOutcome    new state, sample count, sums
    evaluate(model, examples)     -> Sums               loss_sum, correct, examples, extras

and three optional ones: ``metrics`` (extra evaluation sums, by name: ``"count"`` for
integers, ``"real"`` for fixed-point reals), ``classes`` (class names, for the owner's
label histogram) and ``statistics()`` (a ``StatsSpec`` of the federated statistics the
model is built from: ``build_model`` then receives the finished ``FederatedStats`` on the
host; accounts build it without them and load the global state).

Evaluation returns *sums*, never ratios: the host learns only their total over the
accounts, through the secure sum, and divides there (``Sums.accuracy``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal

from fedring.data.examples import AccountData, Examples

if TYPE_CHECKING:
    import torch
    from torch import nn

    from fedring.config import TrainingConfig
    from fedring.data.statistics import FederatedStats, StatsSpec
    from fedring.storage import Store

MetricKind = Literal["count", "real"]
VERBS = ("build_model", "load_data", "train", "evaluate")


@dataclass(frozen=True)
class RoundSettings:
    """What one account trains with in one round (from the federation's ``training``)."""

    epochs: int
    batch_size: int
    learning_rate: float
    seed: int
    rnd: int

    @classmethod
    def for_round(cls, training: TrainingConfig, *, seed: int, account: str, rnd: int) -> RoundSettings:
        """Round ``rnd``'s settings for ``account``: decayed learning rate, per-(account, round) seed.

        The same arithmetic as the round's training before workloads, so a workload sees the same
        numbers (``round_seed`` is imported here: ``fedring.round.train`` imports workloads).
        """
        from fedring.round.train import round_seed

        return cls(
            epochs=training.local_epochs,
            batch_size=training.batch_size,
            learning_rate=training.learning_rate * training.lr_decay ** (rnd - 1),
            seed=round_seed(seed, account, rnd),
            rnd=rnd,
        )


@dataclass(frozen=True)
class Sums:
    """Additive results over some examples: only their total across accounts is learnt."""

    loss_sum: float
    correct: int
    examples: int
    extra: Mapping[str, int | float] = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        return self.correct / self.examples if self.examples else float("nan")

    @property
    def mean_loss(self) -> float:
        return self.loss_sum / self.examples if self.examples else float("nan")


@dataclass(frozen=True)
class TrainOutcome:
    """What ``train`` returns: the trained state dict, the examples trained on, training sums."""

    state: Mapping[str, torch.Tensor]
    samples: int
    sums: Sums


class Workload(ABC):
    """Base class with the optional parts filled in; subclass and write the four verbs.

    Any object with the four verbs is a workload (the resolver checks the shape), so
    subclassing is a convenience, not a requirement.
    """

    metrics: ClassVar[Mapping[str, MetricKind]] = {}
    classes: tuple[str, ...] | None = None

    @abstractmethod
    def build_model(self, seed: int, stats: FederatedStats | None = None) -> nn.Module:
        """A fresh model; the same seed (and stats) gives the same weights on every machine."""

    @abstractmethod
    def load_data(self, store: Store, prefix: str) -> AccountData:
        """This account's data from its own store under ``prefix`` (see ``fedring.data``)."""

    @abstractmethod
    def train(self, model: nn.Module, examples: Examples, settings: RoundSettings) -> TrainOutcome:
        """Train ``model`` (already holding the global state) on ``examples``."""

    @abstractmethod
    def evaluate(self, model: nn.Module, examples: Examples) -> Sums:
        """Sums over ``examples``: summed loss, correct predictions, example count, ``metrics``."""

    def statistics(self) -> StatsSpec | None:
        """The federated statistics ``build_model`` needs on the host, or None."""
        return None
