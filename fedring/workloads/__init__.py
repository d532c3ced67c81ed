"""Workloads: the model, data loading, training and evaluation a federation runs.

A workload has four verbs (``base.Workload``): ``build_model``, ``load_data``, ``train``,
``evaluate``; ``resolve_workload`` finds one by name (``mnist``, ``breast-cancer``,
``resnet18-mnist``) or as a user's ``package.module:object`` and checks it; ``local``
holds what an account runs in a round (train, evaluate, statistics) on its own store;
``sums`` turns evaluation sums into the exact integer vector the host learns only the
total of; ``simulate`` is plain FedAvg through the interface. See docs/workloads.md.
"""

from fedring.workloads.base import RoundSettings, Sums, TrainOutcome, Workload
from fedring.workloads.bound import BoundWorkload
from fedring.workloads.local import LocalUpdate, evaluate_local, evaluate_state, statistics_local, train_local
from fedring.workloads.resolve import BUILTINS, resolve_workload

__all__ = [
    "BUILTINS",
    "BoundWorkload",
    "LocalUpdate",
    "RoundSettings",
    "Sums",
    "TrainOutcome",
    "Workload",
    "evaluate_local",
    "evaluate_state",
    "resolve_workload",
    "statistics_local",
    "train_local",
]
