"""Tables (CSV or Parquet) with a label column: logistic regression or a small MLP.

Features are standardised inside the model by a ``Standardise`` layer whose mean and
scale are buffers set from *federated* statistics: the host builds the initial model
from the finished totals of every account's sums (``statistics``), so no account reveals
its own means, and every account (and anyone the model is shared with) standardises the
same way. Accounts never change those buffers, so averaging leaves them exact.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from fedring.data.examples import AccountData, Examples
from fedring.data.load import Formats, load_account_data
from fedring.data.statistics import FederatedStats, StatsSpec
from fedring.data.tables import TableSchema
from fedring.errors import ConfigError
from fedring.storage import Store
from fedring.workloads.base import RoundSettings, Sums, TrainOutcome, Workload
from fedring.workloads.loop import evaluate_classifier, train_classifier


class Standardise(nn.Module):
    """(x - mean) / scale, with mean and scale as (float32) buffers in the state dict."""

    def __init__(self, mean: np.ndarray, scale: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.scale


class TabularWorkload(Workload):
    """A classifier over named feature columns; ``hidden=0`` is (multinomial) logistic regression."""

    def __init__(self, *, label: str, features: Sequence[str], classes: Sequence[str], hidden: int = 0) -> None:
        if not features or len(classes) < 2 or hidden < 0:
            raise ConfigError("a tabular workload needs feature columns, at least two classes and hidden >= 0")
        self.label = label
        self.features = tuple(features)
        self.classes = tuple(classes)
        self.hidden = hidden
        self.formats = Formats(classes=self.classes, table=TableSchema(label, self.features))

    def statistics(self) -> StatsSpec:
        return StatsSpec(features=self.features, classes=len(self.classes))

    def build_model(self, seed: int, stats: FederatedStats | None = None) -> nn.Module:
        n = len(self.features)
        mean, scale = (stats.mean, stats.std()) if stats is not None else (np.zeros(n), np.ones(n))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if self.hidden:
                head: list[nn.Module] = [nn.Linear(n, self.hidden), nn.ReLU(), nn.Linear(self.hidden, len(self.classes))]
            else:
                head = [nn.Linear(n, len(self.classes))]
            return nn.Sequential(Standardise(mean, scale), *head)

    def load_data(self, store: Store, prefix: str) -> AccountData:
        return load_account_data(store, self.formats, prefix)

    def train(self, model: nn.Module, examples: Examples, settings: RoundSettings) -> TrainOutcome:
        sums = train_classifier(model, *_tensors(examples), settings)
        return TrainOutcome(model.state_dict(), len(examples), sums)

    def evaluate(self, model: nn.Module, examples: Examples) -> Sums:
        return evaluate_classifier(model, *_tensors(examples))


def _tensors(examples: Examples) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(np.ascontiguousarray(examples.features, dtype=np.float32))
    return x, torch.from_numpy(examples.labels)
