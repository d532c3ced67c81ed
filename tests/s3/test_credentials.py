"""Bad credentials fail clearly, name the account, never retry, and leave nothing behind.

Ceph radosgw answers a wrong secret, an unknown access key and a malformed session token
with the same bare 403 as a policy denial; fedring tells them apart with one probe request
(``fedring.storage.credentials.credentials_rejected``). Each case below counts the HTTP requests sent.
"""

from __future__ import annotations

import boto3
import pytest

from fedring.errors import AccessDenied, CredentialsError
from fedring.layout import outbox
from fedring.storage.credentials import assume_role_session
from fedring.storage import host_view, owner_store

pytestmark = pytest.mark.s3


def counted(session: boto3.Session) -> list[str]:
    """Record every HTTP request (each retry included) of clients made from ``session``."""
    sent: list[str] = []
    session.events.register("before-send", lambda request, **_: sent.append(f"{request.method} {request.url}"))
    return sent


def forged(fed, name: str, **override: str | None) -> boto3.Session:
    p = fed.server.principals[name]
    creds = {"aws_access_key_id": p.access_key, "aws_secret_access_key": p.secret_key}
    if "aws_session_token" in override:  # a session token only exists for temporary credentials
        sts = p.session().client("sts", endpoint_url=fed.server.endpoint)
        role = f"arn:aws:iam::{p.tenant}:role/self-{name}"
        temporary = sts.assume_role(RoleArn=role, RoleSessionName="forged")["Credentials"]
        creds = {"aws_access_key_id": temporary["AccessKeyId"], "aws_secret_access_key": temporary["SecretAccessKey"]}
    return boto3.Session(region_name="us-east-1", **{**creds, **override})


@pytest.fixture(scope="module", autouse=True)
def self_roles(fed) -> None:
    """A role each client may assume in its own account, to get real temporary credentials."""
    from fedring.provision import compact, trust_policy

    for name in ("host", "account-2"):
        p = fed.server.principals[name]
        iam = p.session().client("iam", endpoint_url=fed.server.endpoint)
        doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["*"]}]}
        try:
            iam.create_role(RoleName=f"self-{name}", AssumeRolePolicyDocument=compact(trust_policy(p.arn, None)))
        except Exception:  # already there from an earlier module
            pass
        iam.put_role_policy(RoleName=f"self-{name}", PolicyName="all", PolicyDocument=compact(doc))


@pytest.mark.parametrize(
    "override",
    [
        {"aws_secret_access_key": "wrong-secret"},
        {"aws_access_key_id": "UNKNOWNKEY0000000000"},
        {"aws_session_token": "not-a-session-token"},
    ],
    ids=["wrong-secret", "unknown-key", "malformed-token"],
)
def test_bad_owner_credentials_name_the_account_and_are_not_retried(fed, override) -> None:
    session = forged(fed, "account-2", **override)
    sent = counted(session)
    store = owner_store(fed.cfg, "account-2", session=session)
    key = outbox("creds", 1, "contribute", "masked")
    with pytest.raises(CredentialsError) as err:
        store.put(key, b"update")
    assert "account 'account-2'" in str(err.value) and "'fedring-account-2'" in str(err.value)
    assert len(sent) == 2  # the PUT and one probe; no retry storm
    good = owner_store(fed.cfg, "account-2", session=fed.sessions["account-2"])
    assert not good.exists(key)  # nothing half-written


def test_bad_host_credentials_fail_at_assume_role(fed) -> None:
    session = forged(fed, "host", aws_secret_access_key="wrong-secret")
    sent = counted(session)
    with pytest.raises(CredentialsError) as err:
        host_view(fed.cfg, "account-1", run="creds", rnd=7, session=session)
    assert "host 'host'" in str(err.value) and "account 'account-1'" in str(err.value)
    assert len(sent) == 2  # AssumeRole once, one probe


def test_a_role_missing_in_the_client_account_is_a_clear_error(fed) -> None:
    from fedring.errors import ConfigError

    with pytest.raises(ConfigError, match="does not exist; run `fedring provision`"):
        assume_role_session(
            fed.sessions["host"],
            role_arn="arn:aws:iam::100000000001:role/no-such-role",
            external_id=None,
            name="fedring-missing",
            who="host 'host'",
            target="account 'account-1'",
            endpoint_url=fed.server.endpoint,
        )


def test_assumed_role_credentials_renew_before_expiry(fed) -> None:
    base = fed.server.principals["host"].session()
    sent = counted(base)
    session = assume_role_session(
        base,
        role_arn=fed.cfg.accounts[0].host_role_arn(fed.cfg.storage.host_role_name),
        external_id=None,
        name="fedring-refresh-r1",
        who="host 'host'",
        target="account 'account-1'",
        endpoint_url=fed.server.endpoint,
        duration=900,
        refresh_seconds=1000,  # longer than the session: every use is "about to expire"
    )
    first = session.get_credentials().get_frozen_credentials()
    second = session.get_credentials().get_frozen_credentials()
    assert first.access_key != second.access_key  # renewed, not reused past its margin
    assert sum("sts" in s or "POST" in s for s in sent) == 3  # the first AssumeRole and two renewals


def test_session_names_carry_run_and_round(fed) -> None:
    view = host_view(fed.cfg, "account-3", run="names", rnd=12, session=fed.sessions["host"])
    assert view.exists("outbox/none") is False  # the role session works
    from fedring.storage.credentials import session_name

    assert session_name("names", 12) == "fedring-names-r12"


def test_an_outsider_is_denied_not_mistaken_for_bad_credentials(fed) -> None:
    from tests.s3.test_isolation import foreign

    outsider = owner_store(fed.cfg, "account-1", session=fed.server.principals["outsider"].session())
    store = foreign(outsider, "100000000001", "fedring-account-1")
    with pytest.raises(AccessDenied):
        store.get("data/partition.npz")
