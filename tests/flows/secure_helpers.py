"""Shared set-up for the secure-flow tests: small real-MNIST federations and what they trained."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

import fedring.round.plain as plain
import fedring.round.train as training
from fedring.errors import StorageError
from fedring.round import advertise, consistency, contribute, reveal, ring, share_keys
from fedring.config import FederationConfig, build_config
from fedring.manifest import latest_manifest
from fedring.layout import round_model
from fedring.split import simulate_accounts
from fedring.storage import host_store
from fedring.workloads.federation import federation_workload

ACCOUNTS = ("alpha", "beta", "gamma")
STAGE_MODULES = {"advertise": advertise, "share": share_keys, "contribute": contribute, "ring_hop": ring,
                 "sign_survivors": consistency, "reveal": reveal}


def make_cfg(tmp_path, *, run: str = "sec", secure: bool = True, rounds: int = 2, limit: int = 600,
             **more: object) -> FederationConfig:
    """A federation of three accounts, each holding its part of ``limit`` MNIST images (the demo's simulation step)."""
    cfg = build_config(
        run=run,
        accounts=[{"name": n} for n in ACCOUNTS],
        partition={"scheme": "iid", "limit": limit},
        training={"rounds": rounds, "eval_limit": 1000},
        secagg={"secure": secure},
        storage={"root": str(tmp_path / "storage")},
        **more,
    )
    simulate_accounts(cfg)
    return cfg


def final_model(cfg: FederationConfig, rnd: int | None = None) -> np.ndarray:
    """The floats of a committed round's global model, as the host opens it."""
    store = host_store(cfg)
    rnd = rnd if rnd is not None else len(latest_manifest(store, cfg.run)["committed"])
    blob = store.get(round_model(cfg.run, rnd))
    if cfg.secagg.secure:
        from fedring.round.model import open_model
        from fedring.round.party import host_party

        blob = open_model(host_party(cfg), blob, rnd=rnd, host=cfg.host.name)
    return federation_workload(cfg).layout.decode(blob).floats


class TrainingSpy:
    """Wraps the clients' training (secure and plain) to keep (global, trained) floats per (account, round)."""

    def __init__(self, mp: pytest.MonkeyPatch) -> None:
        self.seen: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
        self.calls: defaultdict[int, int] = defaultdict(int)
        real = training.train_local

        def spy(workload, store, start, **kwargs):
            update = real(workload, store, start, **kwargs)
            self.seen[(store.account, kwargs["rnd"])] = (start.floats.copy(), update.state.floats.copy())
            self.calls[kwargs["rnd"]] += 1
            return update

        mp.setattr(training, "train_local", spy)
        mp.setattr(plain, "train_local", spy)


def fail_for(mp: pytest.MonkeyPatch, name: str, account: str, rnd: int, error: type[Exception] = StorageError) -> None:
    """Make client stage ``name`` of ``account`` raise ``error`` in round ``rnd`` (every attempt).

    The default, a storage error, is what an account that is offline looks like: a
    declared dropout. Any other error is a bug and stops the round.
    """
    module = STAGE_MODULES[name]
    real = getattr(module, name)

    def broken(party, plan, **kwargs):
        if party.name == account and plan.rnd == rnd:
            raise error(f"injected failure in {name} of {account}")
        return real(party, plan, **kwargs)

    mp.setattr(module, name, broken)
