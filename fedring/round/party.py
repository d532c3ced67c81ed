"""A participant of the round: its store, its key ring, and everyone's public keys.

Private keys live in a key directory on the account's own machine (never in a bucket):
``$FEDRING_KEYS/<account>/`` or, by default, ``keys/<account>/`` beside the local
storage root. Each account is its own authority and issues itself ``<account>:self``,
the attribute every protocol message is sealed to.

A client stage gets a ``Party`` (``client_party``): its own store and keys and the
directory the host delivered. The host's stages get a ``Host`` (``host_party``): a Party
that also sees each client's bucket through the role it assumes there.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from fedring.config import FederationConfig
from fedring.envelope import open_bytes, seal_bytes
from fedring.errors import ObjectNotFound
from fedring.keys import Authority, KeyRing, PublicDirectory, identity_attribute, new_account_keys
from fedring.layout import PUBLIC_KEYS_PREFIX, directory, outbox_prefix, public_keys
from fedring.round.wire import context
from fedring.storage import Store, host_store, host_view, owner_store, sha256_hex

KEYS_ENV = "FEDRING_KEYS"


def keys_dir(cfg: FederationConfig, account: str) -> Path:
    base = os.environ.get(KEYS_ENV)
    root = Path(base) if base else Path(cfg.storage.root).parent / "keys"
    return root / account


def ensure_keys(cfg: FederationConfig, account: str, store: Store) -> KeyRing:
    """Load the account's key ring, creating its authority on first use; publish its public keys."""
    where = keys_dir(cfg, account)
    authority_file = where / "authority.json"
    if authority_file.exists():
        authority, ring = Authority.load(authority_file), KeyRing.load(where / "ring")
    else:
        authority, ring = new_account_keys(account)
        ring.save(where / "ring")
        authority.save(authority_file)
    publish_public_keys(store, authority)
    return ring


def publish_public_keys(store: Store, authority: Authority) -> str:
    """Publish the authority's current public document, unless the latest one is identical."""
    data = json.dumps(authority.public_document(), sort_keys=True, indent=2).encode()
    existing = store.list(PUBLIC_KEYS_PREFIX)
    if existing and store.get(existing[-1]) == data:
        return existing[-1]
    key = public_keys(len(existing) + 1, sha256_hex(data))
    store.put(key, data)
    return key


def latest_public_keys(store: Store) -> dict:
    """An account's latest public key document (``ObjectNotFound`` if it never published one)."""
    existing = store.list(PUBLIC_KEYS_PREFIX)
    if not existing:
        raise ObjectNotFound(f"no public keys at {store.where(PUBLIC_KEYS_PREFIX)}; enrol the account first")
    return json.loads(store.get(existing[-1]))


@dataclass(frozen=True)
class Party:
    """What a stage may use: this account's own store and keys, and the public directory."""

    name: str
    store: Store
    keyring: KeyRing
    directory: PublicDirectory
    run: str

    def seal_to(self, recipient: str, data: bytes, *, rnd: int, stage: str, policy: str | None = None) -> bytes:
        """Seal ``data`` to one account (or a policy), bound to run, round, stage and both parties."""
        ctx = context(self.run, rnd, stage, sender=self.name, recipient=recipient)
        return bytes(seal_bytes(policy or identity_attribute(recipient), self.directory, data, context=ctx))

    def open_from(self, sender: str, blob: bytes, *, rnd: int, stage: str, recipient: str | None = None) -> bytes:
        ctx = context(self.run, rnd, stage, sender=sender, recipient=recipient or self.name)
        return bytes(open_bytes(self.keyring, blob, context=ctx))

    def keep(self, key: str, data: bytes, *, rnd: int, stage: str) -> None:
        """Store private state sealed to this account itself."""
        self.store.put(key, self.seal_to(self.name, data, rnd=rnd, stage=stage))

    def recall(self, key: str, *, rnd: int, stage: str) -> bytes:
        return self.open_from(self.name, self.store.get(key), rnd=rnd, stage=stage)


@dataclass(frozen=True)
class Host(Party):
    """The host's party, and its view of each client bucket (read outbox/, write inbox/)."""

    cfg: FederationConfig = field(repr=False)

    def view(self, account: str, rnd: int | None = None) -> Store:
        """``account``'s bucket through the role the host assumes there (session named after ``rnd``)."""
        return host_view(self.cfg, account, rnd=rnd)

    def outbox_bytes(self, account: str, rnd: int) -> int:
        """Bytes the account sent in round ``rnd``: everything it put in its outbox for the round."""
        view = self.view(account, rnd)
        return sum(len(view.get(k)) for k in view.list(outbox_prefix(self.run, rnd)))


def client_party(cfg: FederationConfig, account: str, store: Store | None = None) -> Party:
    """A client's party: its own store and keys, and the directory the host delivered to its inbox.

    ``store`` defaults to the account's own bucket. Keys are made and published at
    enrolment (``ensure_keys``); a stage only loads them.
    """
    store = store or owner_store(cfg, account)
    ring_dir = keys_dir(cfg, account) / "ring"
    ring = KeyRing.load(ring_dir) if ring_dir.exists() else ensure_keys(cfg, account, store)
    docs = json.loads(store.get(directory(cfg.run)))
    return Party(account, store, ring, PublicDirectory.from_documents(docs), cfg.run)


def host_party(cfg: FederationConfig) -> Host:
    """The host's party, rebuilt from its key ring and the accounts' published public keys."""
    store = host_store(cfg)
    ring = ensure_keys(cfg, cfg.host.name, store)
    docs = [latest_public_keys(store)] + [latest_public_keys(host_view(cfg, a.name)) for a in cfg.accounts]
    return Host(cfg.host.name, store, ring, PublicDirectory.from_documents(docs), cfg.run, cfg)
