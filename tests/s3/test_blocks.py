"""Prefect blocks: ``fedring accounts register --account NAME`` saves that account's ``CloudAccount``
(+ ``AwsCredentials``); a loaded block hands sessions down to the core and the role still confines
the host. (Each organisation registers on its own Prefect: tests/agents/test_organisations.py.)"""

from __future__ import annotations

import pytest
import yaml
from pydantic import SecretStr

from fedring.errors import AccessDenied
from fedring.layout import inbox, outbox
from fedring.storage import owner_store
from tests.test_config import cli

pytestmark = pytest.mark.s3


def test_register_then_use_the_blocks(fed, prefect_harness, tmp_path, monkeypatch) -> None:
    for name, p in fed.server.principals.items():
        prefix = fed.cfg.account(name).env_prefix if name != "outsider" else "FEDRING_OUTSIDER_"
        monkeypatch.setenv(prefix + "ACCESS_KEY_ID", p.access_key)
        monkeypatch.setenv(prefix + "SECRET_ACCESS_KEY", p.secret_key)
    path = tmp_path / "federation-s3.yaml"
    path.write_text(yaml.safe_dump(fed.cfg.model_dump(mode="json")))
    for name in ("host", "account-2"):
        assert cli("accounts", "register", "--config", str(path), "--account", name) == 0

    from blocks.cloud_account import CloudAccount

    host, client = CloudAccount.load("host"), CloudAccount.load("account-2")
    assert isinstance(client.credentials.aws_secret_access_key, SecretStr)
    assert client.role_arn == "arn:aws:iam::100000000002:role/fedring-host-access"

    client.store().put(outbox("blocks", 1, "contribute", "masked"), b"from the block")
    view = host.view(client, run="blocks", rnd=1)
    assert view.get(outbox("blocks", 1, "contribute", "masked")) == b"from the block"
    view.put(inbox("blocks", 1, "ring-hop", "sum"), b"sum")
    with pytest.raises(AccessDenied):
        view.get("data/partition.npz")
    # the factory with the block's session reaches the same bucket
    assert owner_store(fed.cfg, "account-2", session=client.session()).get(inbox("blocks", 1, "ring-hop", "sum")) == b"sum"
