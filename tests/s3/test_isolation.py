"""Cross-account isolation, proven on a real S3 server (Ceph radosgw, tenants as accounts).

The federation is provisioned by ``fedring.provision`` (the same code an operator runs on AWS):
each client's role trusts only the host, its policy allows ``outbox/`` + ``public/`` reads and
``inbox/`` writes. Every denial below is the server's, not fedring's.

Ceph scopes an assumed-role session to the role's tenant: another tenant's bucket is invisible
to it (404 NoSuchBucket, i.e. ``ObjectNotFound``), where AWS would answer 403.
"""

from __future__ import annotations

import pytest
from botocore.handlers import validate_bucket_name

from fedring.errors import AccessDenied, ObjectExists, ObjectNotFound
from fedring.layout import inbox, outbox
from fedring.storage.credentials import assume_role_session
from fedring.storage.s3 import S3Store
from fedring.storage import host_store, host_view, owner_store

pytestmark = pytest.mark.s3
RUN = "isolation"


def _names(exc: BaseException, *parts: str) -> None:
    for part in parts:
        assert part in str(exc), f"{part!r} not in {exc}"


def foreign(store_of: S3Store, tenant: str, bucket: str) -> S3Store:
    """The same principal aimed at another tenant's bucket (``tenant:bucket``, Ceph's cross-tenant name)."""
    other = S3Store(
        f"{tenant}:{bucket}",
        session=store_of.session,
        account=bucket,
        principal=store_of.principal,
        endpoint_url=store_of.endpoint_url,
        region="us-east-1",
        addressing_style="path",
        max_attempts=1,
    )
    other.client.meta.events.unregister("before-parameter-build.s3", validate_bucket_name)
    return other


@pytest.fixture(scope="module")
def seeded(fed):
    """Each client owns data/, private/, public/ and outbox/ objects; the host owns runs/."""
    for name in ("account-1", "account-2", "account-3"):
        own = owner_store(fed.cfg, name, session=fed.sessions[name])
        own.put("data/partition.npz", b"private data of " + name.encode())
        own.put(f"private/{RUN}/0001/train/state", b"state")
        own.put("public/keys.json", b"{}")
        own.put(outbox(RUN, 1, "contribute", "masked"), b"masked update of " + name.encode())
    host_store(fed.cfg, session=fed.sessions["host"]).put(f"runs/{RUN}/manifest/0000.json", b"{}")
    return fed


@pytest.fixture(scope="module")
def view(seeded):
    """The host's view of account-1, through the role it assumes there."""
    return host_view(seeded.cfg, "account-1", rnd=1, session=seeded.sessions["host"])


def test_host_reads_outbox_and_public_keys(view) -> None:
    assert view.get(outbox(RUN, 1, "contribute", "masked")) == b"masked update of account-1"
    assert view.get("public/keys.json") == b"{}"
    assert view.list(f"outbox/{RUN}/") == [outbox(RUN, 1, "contribute", "masked")]


def test_host_writes_inbox_idempotently(view, seeded) -> None:
    key = inbox(RUN, 1, "ring-hop", "sum")
    view.put(key, b"partial sum")
    assert view.put(key, b"partial sum")  # same bytes: no-op, checked without read rights
    with pytest.raises(ObjectExists):
        view.put(key, b"other sum")
    assert view.exists(key)
    assert owner_store(seeded.cfg, "account-1", session=seeded.sessions["account-1"]).get(key) == b"partial sum"


@pytest.mark.parametrize("key", ["data/partition.npz", f"private/{RUN}/0001/train/state"])
def test_host_cannot_read_data_or_private(view, key: str) -> None:
    with pytest.raises(AccessDenied) as err:
        view.get(key)
    _names(err.value, "host 'host'", "account 'account-1'", "bucket 'fedring-account-1'", repr(key))


@pytest.mark.parametrize("prefix", ["data/", "private/", ""])
def test_host_cannot_list_outside_its_prefixes(view, prefix: str) -> None:
    with pytest.raises(AccessDenied):
        view.list(prefix)


def test_host_cannot_write_outbox_and_nothing_is_written(view, seeded) -> None:
    key = outbox(RUN, 1, "contribute", "forged")
    with pytest.raises(AccessDenied) as err:
        view.put(key, b"forged")
    _names(err.value, "may not write", "'fedring-account-1'", repr(key))
    assert not owner_store(seeded.cfg, "account-1", session=seeded.sessions["account-1"]).exists(key)


def test_host_cannot_delete_through_the_role(view) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as err:
        view.client.delete_object(Bucket=view.bucket, Key=outbox(RUN, 1, "contribute", "masked"))
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert view.exists(outbox(RUN, 1, "contribute", "masked"))


def test_host_role_of_one_client_cannot_reach_another_client(view) -> None:
    other = foreign(view, "100000000002", "fedring-account-2")
    with pytest.raises(ObjectNotFound) as err:  # Ceph: invisible to the role's tenant (AWS: 403)
        other.get(outbox(RUN, 1, "contribute", "masked"))
    _names(err.value, "not visible")
    with pytest.raises(ObjectNotFound):
        other.list("")


def test_host_own_credentials_do_not_reach_a_client_bucket(seeded) -> None:
    mine = foreign(host_store(seeded.cfg, session=seeded.sessions["host"]), "100000000001", "fedring-account-1")
    with pytest.raises(AccessDenied):
        mine.get(outbox(RUN, 1, "contribute", "masked"))
    with pytest.raises(AccessDenied):
        mine.list("")


@pytest.mark.parametrize("who", ["account-3", "outsider"])
def test_only_the_host_may_assume_a_client_role(seeded, who: str) -> None:
    cfg = seeded.cfg
    with pytest.raises(AccessDenied) as err:
        assume_role_session(
            seeded.server.principals[who].session(),
            role_arn=cfg.accounts[1].host_role_arn(cfg.storage.host_role_name),
            external_id="ext-account-2",
            name="intruder",
            who=f"account {who!r}",
            target="account 'account-2'",
            endpoint_url=seeded.server.endpoint,
            region="us-east-1",
        )
    _names(err.value, f"account {who!r}", "account 'account-2'", "trust policy")


def test_a_client_cannot_read_or_list_another_client_bucket(seeded) -> None:
    c = foreign(owner_store(seeded.cfg, "account-3", session=seeded.sessions["account-3"]), "100000000002", "fedring-account-2")
    for key in ("data/partition.npz", outbox(RUN, 1, "contribute", "masked"), "public/keys.json"):
        with pytest.raises(AccessDenied) as err:
            c.get(key)
        _names(err.value, "account 'account-3'", repr(key))
    with pytest.raises(AccessDenied):
        c.list("")
    with pytest.raises(AccessDenied):
        c.put("inbox/forged", b"x")


def test_a_client_cannot_read_the_host_runs(seeded) -> None:
    c = foreign(owner_store(seeded.cfg, "account-1", session=seeded.sessions["account-1"]), "100000000000", "fedring-host")
    with pytest.raises(AccessDenied):
        c.get(f"runs/{RUN}/manifest/0000.json")
    with pytest.raises(AccessDenied):
        c.list("runs/")


def test_bucket_policy_still_confines_a_widened_role(seeded) -> None:
    """Defence in depth: with an s3:* role policy added by mistake, the bucket policy still says no."""
    from botocore.exceptions import ClientError

    from fedring.provision import compact

    cfg, role = seeded.cfg, seeded.cfg.storage.host_role_name
    iam = seeded.sessions["account-3"].client("iam", endpoint_url=seeded.server.endpoint, region_name="us-east-1")
    wide = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["*"]}]}
    iam.put_role_policy(RoleName=role, PolicyName="oops-wide", PolicyDocument=compact(wide))
    try:
        view = host_view(cfg, "account-3", run="widened", rnd=1, session=seeded.sessions["host"])
        with pytest.raises(AccessDenied):
            view.get("data/partition.npz")
        with pytest.raises(AccessDenied):
            view.put(outbox(RUN, 1, "contribute", "forged"), b"forged")
        with pytest.raises(ClientError) as err:
            view.client.delete_object(Bucket=view.bucket, Key=outbox(RUN, 1, "contribute", "masked"))
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert view.get(outbox(RUN, 1, "contribute", "masked")) == b"masked update of account-3"
    finally:
        iam.delete_role_policy(RoleName=role, PolicyName="oops-wide")
