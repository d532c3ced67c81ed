"""Open the stores of a federation from its configuration.

Three views exist, matching the cloud roles:

- ``owner_store``: an account's own bucket, with its own credentials (full access);
- ``host_view``: the host's view of a client bucket, through the role the host assumes
  there (read ``outbox/`` and ``public/``, write ``inbox/``, nothing else);
- ``host_store``: the host's own bucket.

With ``storage.kind: local`` buckets are directories and ``GuardedStore`` plays the role's
part. With ``storage.kind: s3`` they are ``S3Store`` objects: an account's own credentials
come from ``session=`` (the Prefect ``CloudAccount`` block passes its ``AwsCredentials``
session) or from ``FEDRING_<ACCOUNT>_*`` variables / the account's profile
(``fedring.s3auth.account_session``); the host's view of a client assumes that client's
role with its external id, in a session named after run and round, renewed before expiry.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from fedring.config import AccountConfig, FederationConfig
from fedring.layout import INBOX, OUTBOX, PUBLIC_PREFIX
from fedring.storage import GuardedStore, LocalStore, Store

if TYPE_CHECKING:
    import boto3

HOST_READ = (OUTBOX, PUBLIC_PREFIX)
HOST_WRITE = (INBOX,)

_role_sessions: dict[tuple[str | None, ...], "boto3.Session"] = {}
_role_lock = threading.Lock()


def _account(cfg: FederationConfig, name: str) -> AccountConfig:
    return cfg.account(name)


def account_session(cfg: FederationConfig, name: str) -> boto3.Session:
    """Account ``name``'s own boto3 session from its variables, its profile or the default chain."""
    from fedring.s3auth import account_session as resolve

    acct = _account(cfg, name)
    return resolve(acct.name, acct.env_prefix, acct.profile, acct.region)


def owner_store(cfg: FederationConfig, name: str, *, session: boto3.Session | None = None) -> Store:
    """The bucket of account ``name`` as its owner sees it (``session``: its own credentials)."""
    acct = _account(cfg, name)
    if cfg.storage.kind == "local":
        return LocalStore(cfg.storage.root, acct.bucket_name, account=acct.name)
    return _s3(cfg, acct, session or account_session(cfg, name), principal=f"account {acct.name!r}")


def host_store(cfg: FederationConfig, *, session: boto3.Session | None = None) -> Store:
    """The host's own bucket."""
    return owner_store(cfg, cfg.host.name, session=session)


def host_view(
    cfg: FederationConfig,
    name: str,
    *,
    run: str | None = None,
    rnd: int | None = None,
    session: boto3.Session | None = None,
) -> Store:
    """Client ``name``'s bucket as the host sees it through its cross-account role.

    On S3, ``session`` is the host's own session (default: from its variables or profile);
    ``run`` and ``rnd`` name the assumed-role session (default run: ``cfg.run``).
    """
    acct = _account(cfg, name)
    if cfg.storage.kind == "local":
        inner = owner_store(cfg, name)
        return GuardedStore(inner, principal=f"host {cfg.host.name!r}", read=HOST_READ, write=HOST_WRITE)
    from fedring.s3auth import assume_role_session, session_name

    role_arn = acct.host_role_arn(cfg.storage.host_role_name)
    assert role_arn is not None  # FederationConfig._check_s3 guarantees it
    base = session or account_session(cfg, cfg.host.name)
    sname = session_name(run or cfg.run, rnd)
    endpoint = cfg.endpoint_for(acct)
    frozen = base.get_credentials()
    cache_key = (frozen.access_key if frozen else None, endpoint, role_arn, acct.external_id, sname)
    with _role_lock:
        assumed = _role_sessions.get(cache_key)
        if assumed is None:
            assumed = assume_role_session(
                base,
                role_arn=role_arn,
                external_id=acct.external_id,
                name=sname,
                who=f"host {cfg.host.name!r}",
                target=f"account {acct.name!r}",
                endpoint_url=endpoint,
                region=acct.region,
                duration=cfg.storage.session_seconds,
                refresh_seconds=cfg.storage.refresh_seconds,
                max_attempts=cfg.storage.max_attempts,
            )
            _role_sessions[cache_key] = assumed
    return _s3(
        cfg, acct, assumed, principal=f"host {cfg.host.name!r} (role {role_arn})", acl="bucket-owner-full-control"
    )


def _s3(
    cfg: FederationConfig, acct: AccountConfig, session: boto3.Session, *, principal: str, acl: str | None = None
) -> Store:
    from fedring.s3store import MiB, S3Store

    return S3Store(
        acct.bucket_name,
        session=session,
        account=acct.name,
        principal=principal,
        endpoint_url=cfg.endpoint_for(acct),
        region=acct.region,
        addressing_style=cfg.storage.addressing_style,
        max_attempts=cfg.storage.max_attempts,
        multipart_threshold=cfg.storage.multipart_threshold_mb * MiB,
        part_size=cfg.storage.part_size_mb * MiB,
        acl=acl,
    )
