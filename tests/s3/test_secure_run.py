"""The secure round end to end on a real S3 server: host + 3 client accounts, assumed roles."""

from __future__ import annotations

import pytest

from fedring.manifest import latest_manifest
from fedring.split import simulate_accounts
from fedring.storage import host_store, host_view
from tests.s3.conftest import CLIENTS

pytestmark = [pytest.mark.s3, pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


def test_secure_training_on_s3_through_cross_account_roles(fed, monkeypatch, tmp_path):
    from flows.host import federated_training

    # Prepare: each account's own credentials in its variables, keys on local disk.
    for name, principal in fed.server.principals.items():
        prefix = f"FEDRING_{name.upper().replace('-', '_')}"
        monkeypatch.setenv(f"{prefix}_ACCESS_KEY_ID", principal.access_key)
        monkeypatch.setenv(f"{prefix}_SECRET_ACCESS_KEY", principal.secret_key)
    monkeypatch.setenv("FEDRING_KEYS", str(tmp_path / "keys"))
    cfg = fed.cfg.model_copy(
        update={
            "run": "s3-secure",
            "partition": fed.cfg.partition.model_copy(update={"limit": 450}),
            "training": fed.cfg.training.model_copy(update={"rounds": 1, "eval_limit": 500}),
        }
    )
    simulate_accounts(cfg)  # each account's part of MNIST, written with its own credentials
    # Execute
    manifest = federated_training(cfg)
    # Assert: the round committed on S3 with every account; host_view reaches each
    # client's outbox through the assumed role (test_isolation shows nothing else works).
    assert manifest["committed"][0]["participants"] == list(CLIENTS)
    assert latest_manifest(host_store(cfg), cfg.run)["committed"] == manifest["committed"]
    for name in CLIENTS:
        relayed = host_view(cfg, name, rnd=1).list(f"outbox/{cfg.run}/0001/ring-hop/")
        assert len(relayed) == 1
