"""Open the stores of a federation from its configuration.

Three views exist, matching the cloud roles:

- ``owner_store``: an account's own bucket, with its own credentials (full access);
- ``host_view``: the host's view of a client bucket, through the role the host assumes
  there (read ``outbox/``, write ``inbox/``, nothing else);
- ``host_store``: the host's own bucket.
"""

from __future__ import annotations

from fedring.config import AccountConfig, FederationConfig
from fedring.layout import INBOX, OUTBOX, PUBLIC_PREFIX
from fedring.storage import GuardedStore, LocalStore, Store

HOST_READ = (OUTBOX, PUBLIC_PREFIX)
HOST_WRITE = (INBOX,)


def _account(cfg: FederationConfig, name: str) -> AccountConfig:
    if name == cfg.host.name:
        return cfg.host
    for acct in cfg.accounts:
        if acct.name == name:
            return acct
    from fedring.errors import ConfigError

    raise ConfigError(f"unknown account {name!r}; the federation has {[a.name for a in cfg.accounts]}")


def owner_store(cfg: FederationConfig, name: str) -> Store:
    """The bucket of account ``name`` as its owner sees it."""
    acct = _account(cfg, name)
    if cfg.storage.kind == "local":
        return LocalStore(cfg.storage.root, acct.bucket_name, account=acct.name)
    raise NotImplementedError("S3 storage arrives with fedring.s3store")


def host_store(cfg: FederationConfig) -> Store:
    return owner_store(cfg, cfg.host.name)


def host_view(cfg: FederationConfig, name: str) -> Store:
    """Client ``name``'s bucket as the host sees it through its cross-account role."""
    inner = owner_store(cfg, name)
    return GuardedStore(inner, principal=f"host {cfg.host.name!r}", read=HOST_READ, write=HOST_WRITE)
