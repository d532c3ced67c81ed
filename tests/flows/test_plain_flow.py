"""The plaintext federated flow under Prefect's test harness, on a small slice of real MNIST."""

from __future__ import annotations

import json

import pytest

from fedring.config import build_config
from fedring.manifest import latest_manifest
from fedring.layout import round_model
from fedring.round.evaluate import host_evaluation
from fedring.split import simulate_accounts
from fedring.storage import host_store, owner_store


def _cfg(tmp_path, **training):
    """Two accounts, each holding its part of 800 MNIST images (the demo's simulation step)."""
    cfg = build_config(
        run="plain-test",
        accounts=[{"name": "alpha"}, {"name": "beta"}],
        partition={"scheme": "iid", "limit": 800},
        training={"rounds": 2, "eval_limit": 2000, **training},
        secagg={"secure": False},
        workload={"name": "mnist", "federated_evaluation": True},  # the federated evaluation sum too
        storage={"root": str(tmp_path / "storage")},
    )
    simulate_accounts(cfg)
    return cfg


def _objects(cfg) -> dict[str, list[str]]:
    names = [cfg.host.name] + [a.name for a in cfg.accounts]
    return {n: owner_store(cfg, n).list() for n in names}


@pytest.mark.usefixtures("prefect_harness")
def test_two_accounts_two_rounds_learn_and_commit(tmp_path):
    from flows.host import federated_training

    cfg = _cfg(tmp_path)
    manifest = federated_training(cfg)

    assert [m["round"] for m in manifest["committed"]] == [1, 2]
    assert latest_manifest(host_store(cfg), cfg.run)["committed"] == manifest["committed"]
    initial = host_evaluation(cfg, host_store(cfg).get(round_model(cfg.run, 0)))
    assert manifest["committed"][1]["accuracy"] > initial["accuracy"] + 0.3
    # the federated evaluation sums the accounts' eval splits: the same 2,000 test images here
    assert all(m["federated"]["examples"] == 2000 and m["federated"]["correct"] == round(m["accuracy"] * 2000)
               for m in manifest["committed"])
    assert all(m["participants"] == ["alpha", "beta"] and m["dropped"] == [] for m in manifest["committed"])


@pytest.mark.usefixtures("prefect_harness")
def test_client_flow_writes_only_under_its_own_account(tmp_path):
    from flows.host import federated_training
    from flows.plain_round import client_train

    cfg = _cfg(tmp_path, rounds=1)
    federated_training(cfg)
    # Prepare round 2's input the way the host does, then snapshot every bucket.
    from tasks.model import broadcast

    broadcast.fn(cfg, 2, ["alpha", "beta"])
    before = _objects(cfg)
    # Execute: one client's flow on its own.
    client_train(cfg, account="alpha", rnd=2)
    after = _objects(cfg)
    # Assert: only alpha's bucket changed, and only under its outbox.
    changed = {n for n in after if after[n] != before[n]}
    assert changed == {"alpha"}
    new = set(after["alpha"]) - set(before["alpha"])
    assert new and all(k.startswith("outbox/plain-test/0002/") for k in new)
    meta_key = "outbox/plain-test/0002/update/meta.json"
    assert meta_key in new
    meta = json.loads(owner_store(cfg, "alpha").get(meta_key))
    assert meta["samples"] == 400
