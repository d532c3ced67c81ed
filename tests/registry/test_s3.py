"""The registry on a real S3 server (Ceph radosgw): read through a role, open only with the policy.

The host publishes into its own bucket; consumer accounts assume a reader role in the host's
account (``fedring.registry.access``) that may read ``registry/`` and nothing else. A consumer
outside the policy downloads the bytes and cannot open them; a principal without read
permission on ``registry/`` is refused by the server.
"""

from __future__ import annotations

import pytest

from fedring.errors import AccessDenied, PolicyNotSatisfied
from fedring.keys import Authority, KeyRing, PublicDirectory, new_account_keys
from fedring.ml.model import build_model
from fedring.ml.train import evaluate
from fedring.workloads.federation import federation_workload
from fedring.provision import compact
from fedring import layout
from fedring.registry import load_model, publish_weights, verify_all
from fedring.registry.access import READER_ROLE, reader_role_policy, reader_store, reader_trust_policy
from fedring.registry.catalog import fetch
from fedring.registry.ref import ModelRef
from fedring.storage import host_store
from tests.s3.conftest import ceph, fed  # noqa: F401 - the session's Ceph server and federation
from tests.s3.test_isolation import foreign

pytestmark = pytest.mark.s3
ATTR = "account-1:researcher"


@pytest.fixture(scope="module")
def registry(fed, mnist):  # noqa: F811
    """Host publishes one version to ``account-1:researcher``; account-2 holds it, account-3 does not."""
    _, test = mnist
    cfg, server = fed.cfg, fed.server
    host_authority, _ = new_account_keys("host")
    issuer = Authority.create("account-1")
    holder = KeyRing([issuer.issue(ATTR)])
    outside = KeyRing([Authority.create("account-3").issue("account-3:self")])
    directory = PublicDirectory.from_documents([host_authority.public_document(), issuer.public_document()])
    from fedring.keys import Identity

    identity = Identity.create("host")
    fw = federation_workload(cfg)
    model = build_model(7)
    accuracy, loss = evaluate(model, test.images, test.labels)
    manifest = {"run": "s3-registry", "workload": fw.describe({}), "config": cfg.model_dump(mode="json"),
                "committed": [{"round": 1, "accuracy": accuracy, "loss": loss,
                               "participants": ["account-1", "account-2", "account-3"]}]}
    host = host_store(cfg, session=fed.sessions["host"])
    published = publish_weights(host, identity=identity, directory=directory, manifest=manifest, rnd=1,
                                weights=fw.layout.encode(fw.layout.split(model.state_dict())), model="s3-mnist", policy=ATTR)
    iam = fed.sessions["host"].client("iam", endpoint_url=server.endpoint, region_name="us-east-1")
    consumers = [server.principals[n].arn for n in ("account-2", "account-3")]
    try:
        iam.create_role(RoleName=READER_ROLE, AssumeRolePolicyDocument=compact(reader_trust_policy(consumers)))
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    except Exception as exc:  # radosgw answers a bare 409 for an existing role
        if getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode") != 409:
            raise
    iam.put_role_policy(RoleName=READER_ROLE, PolicyName=READER_ROLE,
                        PolicyDocument=compact(reader_role_policy(cfg.host.bucket_name)))
    role_arn = f"arn:aws:iam::{server.principals['host'].tenant}:role/{READER_ROLE}"

    def view(name: str):
        return reader_store(fed.sessions[name], bucket=cfg.host.bucket_name, role_arn=role_arn,
                            endpoint_url=server.endpoint, addressing_style="path", who=f"account {name!r}")

    return published, holder, outside, view, accuracy, role_arn


def test_authorised_consumer_reads_through_its_role_and_opens(registry, mnist) -> None:
    published, holder, _, view, accuracy, _ = registry
    _, test = mnist

    model = load_model(view("account-2"), f"s3-mnist:{published.version}", holder)

    assert evaluate(model.module, test.images, test.labels)[0] == model.card["accuracy"] == accuracy
    assert verify_all(view("account-2"), model="s3-mnist").ok


def test_consumer_outside_the_policy_downloads_but_cannot_open(registry) -> None:
    published, _, outside, view, _, _ = registry
    store = view("account-3")

    blob = store.get(layout.envelope("s3-mnist", published.version, 1))
    with pytest.raises(PolicyNotSatisfied) as err:
        load_model(store, "s3-mnist", outside)

    assert len(blob) == published.envelope_bytes
    assert err.value.missing == [[ATTR]]


def test_the_reader_role_reaches_nothing_but_the_registry(registry, fed) -> None:  # noqa: F811
    _, _, _, view, _, _ = registry
    store = view("account-2")

    with pytest.raises(AccessDenied):
        store.get("runs/isolation/manifest/0000.json")
    with pytest.raises(AccessDenied):
        store.put(layout.card("s3-mnist", 99), b"{}")
    with pytest.raises(AccessDenied):
        store.list("runs/")


def test_a_principal_without_registry_read_permission_is_denied(registry, fed) -> None:  # noqa: F811
    published, _, _, _, _, role_arn = registry
    outsider = fed.server.principals["outsider"].session()
    own = host_store(fed.cfg, session=outsider)
    direct = foreign(own, fed.server.principals["host"].tenant, fed.cfg.host.bucket_name)

    with pytest.raises(AccessDenied):
        direct.get(layout.envelope("s3-mnist", published.version, 1))
    with pytest.raises(AccessDenied):
        fetch(direct, ModelRef("s3-mnist"))
    with pytest.raises(AccessDenied):
        reader_store(outsider, bucket=fed.cfg.host.bucket_name, role_arn=role_arn,
                     endpoint_url=fed.server.endpoint, addressing_style="path", who="account 'outsider'")


def test_cli_reads_through_the_reader_role_with_the_consumers_own_credentials(registry, fed, tmp_path, monkeypatch,  # noqa: F811
                                                                             capsys) -> None:
    import json

    import numpy as np
    import yaml

    from tests.registry.helpers import run_cli

    published, holder, _, _, _, role_arn = registry
    config = tmp_path / "federation-s3.yaml"
    config.write_text(yaml.safe_dump(fed.cfg.model_dump(mode="json")))
    holder.save(tmp_path / "ring")
    np.save(tmp_path / "x.npy", np.zeros((2, 28, 28), dtype=np.uint8))
    me = fed.server.principals["account-2"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", me.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", me.secret_key)

    listed = run_cli("models", "list", "--config", config, "--role-arn", role_arn, "--json")
    rows = json.loads(capsys.readouterr().out)
    predicted = run_cli("predict", "--config", config, "--role-arn", role_arn, "-m", "s3-mnist",
                        "-k", tmp_path / "ring", "--json", tmp_path / "x.npy")
    out = json.loads(capsys.readouterr().out)

    assert listed == 0 and ("s3-mnist", published.version) in [(r["model"], r["version"]) for r in rows]
    assert predicted == 0 and len(out["predictions"]) == 2
