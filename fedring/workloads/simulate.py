"""Plain FedAvg through the workload interface, in one process: tests, benchmarks, reference.

The same arithmetic the secure round will do, without the masks: statistics and
evaluation sums are added as exact integer vectors (``exact.plain_total``, which takes
the same uint32-limb path as the masked ring), floating state is averaged with the
sample counts as weights (McMahan et al. 2017, arXiv:1602.05629), integer buffers advance
by the rounded mean increment. Every account trains in every round; no dropouts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fedring.config import TrainingConfig
from fedring.secagg.exact import plain_total
from fedring.data.statistics import FederatedStats, finish
from fedring.layout import DATA_PREFIX
from fedring.ml.state import ModelState, StateLayout, apply_mean_increment, int_increment
from fedring.ml.weights import weighted_average
from fedring.storage import Store
from fedring.workloads import sums
from fedring.workloads.base import Sums
from fedring.workloads.bound import BoundWorkload
from fedring.workloads.local import evaluate_local, statistics_local, train_local


@dataclass(frozen=True)
class SimulatedRound:
    rnd: int
    train: Sums  # total training sums of the round (last local epoch)
    evaluation: Sums  # total over the accounts' eval splits of the model after the round


@dataclass(frozen=True)
class Simulation:
    layout: StateLayout
    state: ModelState
    stats: FederatedStats | None
    rounds: list[SimulatedRound]


def federated_statistics(
    workload: BoundWorkload, stores: Mapping[str, Store], *, prefix: str = DATA_PREFIX
) -> FederatedStats | None:
    """The workload's statistics over every account's data (None if it asks for none)."""
    if workload.stats_spec is None:
        return None
    totals = plain_total([statistics_local(workload, stores[name], prefix=prefix) for name in sorted(stores)])
    return finish(workload.stats_spec, totals)


def federated_average(
    workload: BoundWorkload,
    stores: Mapping[str, Store],
    *,
    training: TrainingConfig,
    seed: int,
    prefix: str = DATA_PREFIX,
) -> Simulation:
    """``training.rounds`` rounds of FedAvg over ``stores`` (one per account), evaluated each round."""
    names = sorted(stores)
    stats = federated_statistics(workload, stores, prefix=prefix)
    initial = workload.build_model(seed, stats)
    layout = StateLayout.of(initial)
    state = layout.split(initial.state_dict(), who="the host's initial model")
    history = []
    data = {n: workload.load_data(stores[n], prefix) for n in names}  # objects are immutable: read once
    for rnd in range(1, training.rounds + 1):
        updates = [
            train_local(workload, stores[n], state, layout=layout, training=training, seed=seed, rnd=rnd, data=data[n])
            for n in names
        ]
        floats = weighted_average([u.state.floats for u in updates], [u.samples for u in updates])
        increments = plain_total([int_increment(state.ints, u.state.ints) for u in updates])
        state = ModelState(floats, apply_mean_increment(state.ints, increments, len(updates)))
        trained = sums.decode(plain_total([sums.encode(u.sums, {}) for u in updates]), {})
        evaluated = [
            sums.encode(evaluate_local(workload, stores[n], state, layout=layout, seed=seed, data=data[n]), workload.metrics)
            for n in names
        ]
        history.append(SimulatedRound(rnd, trained, sums.decode(plain_total(evaluated), workload.metrics)))
    return Simulation(layout, state, stats, history)
