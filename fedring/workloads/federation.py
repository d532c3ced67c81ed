"""The workload a federation file names, resolved once per process, with its model layout.

Every party takes the workload from its *own* federation file (``workload:``): the host
from the host's, each account from its own, never from a request, because resolving a
workload imports and runs the code it names. Parties agree when their models have the
same layout: an account decodes the global model with the layout its own workload
builds, so a different model is a ``StateMismatch`` naming the account and the tensor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from fedring.config import FederationConfig
from fedring.data.examples import Examples
from fedring.data.statistics import FederatedStats, StatsSpec
from fedring.ml.state import ModelState, StateLayout
from fedring.workloads.bound import BoundWorkload
from fedring.workloads.resolve import resolve_workload


@dataclass(frozen=True)
class FederationWorkload:
    """A federation's resolved workload, its model layout, data prefix and seed."""

    workload: BoundWorkload
    layout: StateLayout
    prefix: str
    seed: int

    @property
    def name(self) -> str:
        return self.workload.entry

    def initial_state(self, stats: FederatedStats | None = None) -> ModelState:
        """The host's round-0 model: built from the seed (and the federated statistics, if any)."""
        model = self.workload.build_model(self.seed, stats)
        return self.layout.split(model.state_dict(), who=f"the host's initial model of workload {self.name!r}")

    def statistics_spec(self) -> StatsSpec:
        """What a statistics sum adds up: the workload's own spec, else rows and rows per class."""
        if self.workload.stats_spec is not None:
            return self.workload.stats_spec
        return StatsSpec(features=(), classes=len(self.workload.classes or ()))

    def test_set(self, data_dir: str | None, limit: int | None) -> Examples | None:
        """The host's own held-out test set, if the workload has one (MNIST does); its first ``limit``."""
        test = self.workload.test_data(data_dir)
        if test is None or limit is None:
            return test
        return Examples(test.features[:limit], test.labels[:limit], test.source)

    def describe(self, options: dict) -> dict:
        """What a run's manifest and a model card record: name, options, layout."""
        return {"name": self.name, "options": options, "layout": self.layout.describe()}


@lru_cache(maxsize=8)
def _resolved(name: str, options: str, seed: int) -> tuple[BoundWorkload, StateLayout]:
    workload = resolve_workload(name, json.loads(options))
    return workload, StateLayout.of(workload.build_model(seed))


def federation_workload(cfg: FederationConfig) -> FederationWorkload:
    """The workload ``cfg`` names (resolved and its model built once per process)."""
    options = json.dumps(cfg.workload.options, sort_keys=True)
    workload, layout = _resolved(cfg.workload.name, options, cfg.seed)
    return FederationWorkload(workload, layout, cfg.workload.data_prefix, cfg.seed)


def evaluates_federated(cfg: FederationConfig) -> bool:
    """Whether the rounds add a federated evaluation sum: as configured, else when the host has no test set.

    The sum costs a second secure sum per round; a host with a test set of its own (MNIST's)
    evaluates every model itself, so by default it is left out there.
    """
    if cfg.workload.federated_evaluation is not None:
        return cfg.workload.federated_evaluation
    return not federation_workload(cfg).workload.has_test_data
