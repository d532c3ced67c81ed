"""Session fixtures for the S3 tests: a Ceph radosgw on loopback and a provisioned federation.

Skipped, loudly, only when the Ceph binaries are missing (see ``tests/s3/server.py``); a
server that is installed but fails to start is an error, not a skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest

from fedring.config import FederationConfig, build_config
from fedring.provision import apply
from tests.s3.server import CephServer, shared_server

CLIENTS = ("account-1", "account-2", "account-3")


@pytest.fixture(scope="session")
def ceph(request: pytest.FixtureRequest) -> Iterator[CephServer]:
    with shared_server() as server:
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        with capture.global_and_fixture_disabled():
            print(f"\nCeph radosgw at {server.endpoint}, up in {server.seconds_to_start:.1f} s", flush=True)
        yield server


def s3_config(server: CephServer, run: str = "isolation", prefix: str = "fedring", **storage: object) -> FederationConfig:
    """A federation of host + 3 clients on the test server (tenant users as accounts).

    ``prefix`` names its buckets and the host role: two federations with different prefixes
    share the server's accounts but no object and no policy.
    """
    p = server.principals
    accounts = [
        {
            "name": name,
            "account_id": p[name].tenant,
            "bucket": f"{prefix}-{name}",
            "external_id": f"ext-{name}",
            "principal_arn": p[name].arn,
        }
        for name in CLIENTS
    ]
    return build_config(
        run=run,
        host={"name": "host", "account_id": p["host"].tenant, "principal_arn": p["host"].arn, "bucket": f"{prefix}-host"},
        accounts=accounts,
        storage={
            "kind": "s3",
            "endpoint_url": server.endpoint,
            "addressing_style": "path",
            "trust_external_id": False,  # radosgw 16 cannot evaluate sts:ExternalId (docs/s3.md)
            "max_attempts": 3,
            "host_role_name": f"{prefix}-host-access",
            **storage,
        },
    )


@dataclass
class Federation:
    cfg: FederationConfig
    sessions: dict[str, boto3.Session]
    server: CephServer


def provisioned(server: CephServer, prefix: str = "fedring") -> Federation:
    """Buckets, roles and policies of host + 3 clients, provisioned by ``fedring.provision``."""
    cfg = s3_config(server, prefix=prefix)
    sessions = {name: server.principals[name].session() for name in ("host", *CLIENTS)}
    apply(cfg, sessions=sessions)
    return Federation(cfg, sessions, server)


@pytest.fixture(scope="session")
def fed(ceph: CephServer) -> Federation:
    """The session's federation, shared by the S3 tests (its buckets keep what earlier tests wrote)."""
    return provisioned(ceph)
