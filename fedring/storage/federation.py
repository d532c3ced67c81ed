"""The stores of a federation's accounts, opened from its configuration.

Three views exist, matching the cloud roles:

- ``owner_store``: an account's own bucket, with its own credentials (full access);
- ``host_view``: the host's view of a client bucket, through the role the host assumes
  there (read ``outbox/`` and ``public/``, write ``inbox/``, nothing else);
- ``host_store``: the host's own bucket.

With ``storage.kind: local`` buckets are directories and ``GuardedStore`` plays the role's
part. With ``storage.kind: s3`` they are ``S3Store`` objects, built by ``s3_owner`` and
``s3_role_view`` (the Prefect ``CloudAccount`` block calls the same two): an account's own
credentials come from ``session=`` (the block passes its ``AwsCredentials`` session) or
from ``FEDRING_<ACCOUNT>_*`` variables / the account's profile
(``fedring.storage.credentials.account_session``); the host's view of a client assumes
that client's role with its external id, in a session named after run and round,
renewed before expiry.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from fedring.config import AccountConfig, FederationConfig, StorageConfig
from fedring.layout import INBOX, OUTBOX, PUBLIC_PREFIX
from fedring.storage.base import Store
from fedring.storage.local import GuardedStore, LocalStore

if TYPE_CHECKING:
    import boto3

    from fedring.storage.s3 import S3Store

HOST_READ = (OUTBOX, PUBLIC_PREFIX)
HOST_WRITE = (INBOX,)

_role_sessions: dict[tuple[str | None, ...], "boto3.Session"] = {}
_role_lock = threading.Lock()
_stores: dict[tuple[object, ...], "S3Store"] = {}
_store_lock = threading.Lock()


def account_session(cfg: FederationConfig, name: str) -> boto3.Session:
    """Account ``name``'s own boto3 session from its variables, its profile or the default chain."""
    from fedring.storage.credentials import account_session as resolve

    acct = cfg.account(name)
    return resolve(acct.name, acct.env_prefix, acct.profile, acct.region)


def owner_store(cfg: FederationConfig, name: str, *, session: boto3.Session | None = None) -> Store:
    """The bucket of account ``name`` as its owner sees it (``session``: its own credentials)."""
    acct = cfg.account(name)
    if cfg.storage.kind == "local":
        return LocalStore(cfg.storage.root, acct.bucket_name, account=acct.name)
    return s3_owner(acct, cfg.storage, session or account_session(cfg, name), endpoint=cfg.endpoint_for(acct))


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
    acct = cfg.account(name)
    if cfg.storage.kind == "local":
        inner = owner_store(cfg, name)
        return GuardedStore(inner, principal=f"host {cfg.host.name!r}", read=HOST_READ, write=HOST_WRITE)
    base = session or account_session(cfg, cfg.host.name)
    return s3_role_view(
        acct, cfg.storage, base, host=cfg.host.name, run=run or cfg.run, rnd=rnd, endpoint=cfg.endpoint_for(acct)
    )


def s3_owner(acct: AccountConfig, storage: StorageConfig, session: boto3.Session, *, endpoint: str | None) -> S3Store:
    """``acct``'s bucket on S3 with the owner's own ``session``."""
    return _s3(acct, storage, session, endpoint=endpoint, principal=f"account {acct.name!r}")


def s3_role_view(
    acct: AccountConfig,
    storage: StorageConfig,
    base: boto3.Session,
    *,
    host: str,
    run: str | None,
    rnd: int | None,
    endpoint: str | None,
) -> S3Store:
    """``acct``'s bucket as ``host`` sees it: through ``acct``'s role, assumed from ``base``.

    Assumed-role sessions are cached per (caller, endpoint, role, external id, session name)
    and renew themselves before they expire.
    """
    from fedring.errors import ConfigError
    from fedring.storage.credentials import assume_role_session, session_name

    role_arn = acct.host_role_arn(storage.host_role_name)
    if role_arn is None:
        raise ConfigError(f"account {acct.name!r} has no role_arn (or account_id) for the host to assume")
    sname = session_name(run, rnd)
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
                who=f"host {host!r}",
                target=f"account {acct.name!r}",
                endpoint_url=endpoint,
                region=acct.region,
                duration=storage.session_seconds,
                refresh_seconds=storage.refresh_seconds,
                max_attempts=storage.max_attempts,
            )
            _role_sessions[cache_key] = assumed
    return _s3(
        acct,
        storage,
        assumed,
        endpoint=endpoint,
        principal=f"host {host!r} (role {role_arn})",
        acl="bucket-owner-full-control",
    )


def _s3(
    acct: AccountConfig,
    storage: StorageConfig,
    session: boto3.Session,
    *,
    endpoint: str | None,
    principal: str,
    acl: str | None = None,
) -> S3Store:
    """The bucket's store for ``session``, built once per process: a store's S3 client costs 0.01 s to make
    and is safe to share between threads. The key holds the session itself (``id``: the cached
    store keeps its session alive, so the id is never another session's)."""
    from fedring.storage.s3 import MiB, S3Store

    key = (id(session), acct.name, acct.bucket_name, acct.region, endpoint, principal, acl, storage.model_dump_json())
    with _store_lock:
        found = _stores.get(key)
        if found is None:
            found = _stores[key] = S3Store(
                acct.bucket_name,
                session=session,
                account=acct.name,
                principal=principal,
                endpoint_url=endpoint,
                region=acct.region,
                addressing_style=storage.addressing_style,
                max_attempts=storage.max_attempts,
                multipart_threshold=storage.multipart_threshold_mb * MiB,
                part_size=storage.part_size_mb * MiB,
                acl=acl,
            )
    return found
