"""What an account does with a workload in a round, on its own store: the round's entry points.

- ``train_local``     what an account trains in a round (``fedring.round.train``): load its
                      data, load the global state into a fresh model, train, and return the
                      new state (floats, ints), the public sample count and the training sums.
- ``evaluate_local``  federated evaluation: sums over this account's ``eval`` split (zero
                      sums if it has none, so every account adds a vector of one length).
- ``statistics_local`` federated statistics: this account's statistics vector.
- ``evaluate_state``  host-side evaluation on a test set the host holds
                      (``fedring.round.evaluate``).

Each loads the account's data unless the caller passes what it loaded (``data=``), so a
stage that trains and evaluates reads the bucket once. The integer vectors the round sums
exactly (``fedring.secagg.exact``) are ``int_increment(global.ints, update.state.ints)``,
``sums.encode(evaluate_local(...))`` and ``statistics_local(...)``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from torch import nn

from fedring.config import TrainingConfig
from fedring.data.examples import AccountData, Examples
from fedring.data.statistics import StatsSpec, local_sums
from fedring.errors import WorkloadError
from fedring.layout import DATA_PREFIX
from fedring.ml.state import ModelState, StateLayout
from fedring.storage import Store
from fedring.workloads.base import RoundSettings, Sums
from fedring.workloads.bound import BoundWorkload


@dataclass(frozen=True)
class LocalUpdate:
    """One account's training result: the new state, its public sample count, training sums."""

    state: ModelState
    samples: int
    sums: Sums
    seconds: float


def _model(workload: BoundWorkload, layout: StateLayout, state: ModelState, seed: int, who: str) -> nn.Module:
    return layout.load_into(workload.build_model(seed), state, who=f"account {who!r}: workload {workload.entry!r}")


def train_local(
    workload: BoundWorkload,
    store: Store,
    global_state: ModelState,
    *,
    layout: StateLayout,
    training: TrainingConfig,
    seed: int,
    rnd: int,
    prefix: str = DATA_PREFIX,
    data: AccountData | None = None,
) -> LocalUpdate:
    """Train the global model on this account's own data (``data``: already loaded from ``store``)."""
    start = time.perf_counter()
    who = store.account
    data = data or workload.load_data(store, prefix)
    model = _model(workload, layout, global_state, seed, who)
    settings = RoundSettings.for_round(training, seed=seed, account=who, rnd=rnd)
    outcome = workload.train(model, data.train, settings, who=who)
    state = layout.split(outcome.state, who=f"account {who!r}: workload {workload.entry!r} after training")
    return LocalUpdate(state, outcome.samples, outcome.sums, time.perf_counter() - start)


def evaluate_local(
    workload: BoundWorkload,
    store: Store,
    state: ModelState,
    *,
    layout: StateLayout,
    seed: int,
    prefix: str = DATA_PREFIX,
    data: AccountData | None = None,
) -> Sums:
    """Sums of ``state`` over this account's ``eval`` split; zero sums when it holds none."""
    data = data or workload.load_data(store, prefix)
    if data.evaluation is None or len(data.evaluation) == 0:
        return Sums(0.0, 0, 0, {name: 0 for name in workload.metrics})
    model = _model(workload, layout, state, seed, store.account)
    return workload.evaluate(model, data.evaluation, who=store.account)


def evaluate_state(
    workload: BoundWorkload, state: ModelState, examples: Examples, *, layout: StateLayout, seed: int
) -> Sums:
    """Host-side evaluation of ``state`` on a test set the host holds."""
    return workload.evaluate(_model(workload, layout, state, seed, "host"), examples, who="host")


def statistics_local(
    workload: BoundWorkload, store: Store, *, prefix: str = DATA_PREFIX, spec: StatsSpec | None = None,
    data: AccountData | None = None,
) -> np.ndarray:
    """This account's statistics vector (int64) for ``spec`` (default: the workload's ``StatsSpec``).

    A spec without features counts rows (and rows per class) only.
    """
    spec = spec or workload.stats_spec
    if spec is None:
        raise WorkloadError(f"workload {workload.entry!r} asks for no statistics")
    train = (data or workload.load_data(store, prefix)).train
    features = np.asarray(train.features).reshape(len(train), -1) if spec.features else np.zeros((len(train), 0))
    return local_sums(spec, features, train.labels if spec.classes else None, who=f"account {store.account!r}")
