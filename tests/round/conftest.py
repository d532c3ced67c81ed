"""A small federation on local stores for the step modules' unit tests (no Prefect).

Three accounts hold 100 real MNIST images each; keys are made, the directory is
published and the run is started, as the flow does before round 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from fedring.config import FederationConfig, build_config
from fedring.manifest import start_run
from fedring.ml.model import build_model
from fedring.ml.weights import to_vector
from fedring.round import advertise, model, train
from fedring.round.party import Host, Party, client_party, ensure_keys, host_party
from fedring.round.plan import RoundPlan
from fedring.split import split_data
from fedring.storage import owner_store

ACCOUNTS = ("alpha", "beta", "gamma")


@dataclass
class Federation:
    cfg: FederationConfig
    roster: dict[str, int]
    host: Host
    parties: dict[str, Party]

    def plan(self, rnd: int = 1) -> RoundPlan:
        return RoundPlan.create(self.cfg, self.roster, rnd)

    def advertise_all(self, rnd: int = 1, accounts=ACCOUNTS) -> RoundPlan:
        plan = self.plan(rnd)
        model.broadcast(self.cfg, rnd, list(accounts))
        for name in accounts:
            advertise.advertise(self.parties[name], plan)
        advertise.relay_advertisements(self.host, plan, sorted(accounts))
        return plan


@pytest.fixture
def fed(tmp_path, mnist) -> Federation:
    cfg = build_config(
        run="unit",
        accounts=[{"name": n} for n in ACCOUNTS],
        partition={"limit": 300},
        training={"rounds": 1, "eval_limit": 200},
        storage={"root": str(tmp_path / "storage")},
    )
    manifests = split_data(cfg, mnist[0], {a: owner_store(cfg, a) for a in ACCOUNTS})
    roster = {a: m["samples"] for a, m in manifests.items()}
    for name in ACCOUNTS:
        ensure_keys(cfg, name, owner_store(cfg, name))
    host = host_party(cfg)
    advertise.publish_directory(host)
    initial = model.seal_model(host, to_vector(build_model(cfg.seed)), rnd=0, participants=sorted(roster))
    start_run(host.store, cfg, roster, initial)
    return Federation(cfg, roster, host, {n: client_party(cfg, n) for n in ACCOUNTS})


@pytest.fixture
def trained(monkeypatch) -> dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]:
    """(account, round) -> (global vector, trained vector) of every local training."""
    seen = {}
    real = train.train_on_partition

    def spy(store, global_vector, **kwargs):
        vector, result = real(store, global_vector, **kwargs)
        seen[(store.account, kwargs["rnd"])] = (global_vector.copy(), vector.copy())
        return vector, result

    monkeypatch.setattr(train, "train_on_partition", spy)
    return seen
