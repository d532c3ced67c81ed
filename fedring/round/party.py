"""A participant of the round: its store, its keys, its pins of everyone's identity.

Private keys live in a key directory on the account's own machine (never in a bucket):
``$FEDRING_KEYS/<account>/`` or, by default, ``keys/<account>/`` beside the local
storage root. There each account keeps its identity (``identity.json``: the Ed25519 key
that signs its statements) and its attribute authority; it issues itself
``<account>:self``, the attribute every protocol message is sealed to.

Pins: the identity keys of all accounts, from the federation file
(``accounts.*.identity``); an account without a pin is taken from this machine's key
directory only when this machine holds that account's keys (the embedded default, where
one operator runs every account). A party checks every statement it reads against the
pins, never against a key the host hands it.

A client stage gets a ``Party`` (``client_party``); the host's stages get a ``Host``
(``host_party``), a Party that also sees each client's bucket through its role.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from fedring.config import FederationConfig
from fedring.envelope import open_bytes, seal_bytes
from fedring.errors import ConfigError, ObjectNotFound
from fedring.keys import Authority, Identity, KeyRing, PublicDirectory, identity_attribute, new_account_keys, signed
from fedring.keys.files import read_private
from fedring.keys.identity import parse_pin
from fedring.layout import DIRECTORY, Round, PUBLIC_KEYS_PREFIX, accepted_directory, directory, outbox_prefix, public_keys
from fedring.round.wire import context, decode_bundle
from fedring.storage import Store, host_store, host_view, owner_store, sha256_hex

KEYS_ENV = "FEDRING_KEYS"
IDENTITY_FILE = "identity.json"
PUBLIC_KEYS = "public-keys"  # the kind of statement an authority's public document is


def keys_root(cfg: FederationConfig) -> Path:
    """Where this machine keeps the key directories of the accounts it holds."""
    base = os.environ.get(KEYS_ENV)
    return Path(base) if base else Path(cfg.storage.root).parent / "keys"


def keys_dir(cfg: FederationConfig, account: str) -> Path:
    return keys_root(cfg) / account


def load_identity(cfg: FederationConfig, account: str) -> Identity:
    """The account's identity from its key directory, created (0600) on first use."""
    path = keys_dir(cfg, account) / IDENTITY_FILE
    if path.exists():
        return Identity.load(path)
    identity = Identity.create(account)
    identity.save(path)
    return identity


def pins(cfg: FederationConfig) -> dict[str, bytes]:
    """Every account's pinned identity key: from the file, else from this machine's key directory.

    ConfigError names the first account with neither.
    """
    return dict(PinBook(cfg))


class PinBook(Mapping[str, bytes]):
    """The federation's pins, each looked up when a signature needs it (as ``pins``, but lazily).

    An account's stage checks the signatures of its neighbours and the host, not of every
    account. Where one machine holds every account's keys (a simulation), resolving all
    pins read every identity file in every account's stage: about 40 ms of each stage at
    1,000 accounts. A name outside the federation is not in the book; a member without a pin
    is a ConfigError when its pin is needed.

    A book lives for one stage and keeps each pin it looked up: a stage checks the same
    signer's statements many times (every advertisement in each stage that reads the
    round's view), and reading the file for each check cost an eighth of a 100-account
    round (9.3 of 76 s, profiled). A replaced identity file is seen by the next stage, as with ``pins``.
    """

    def __init__(self, cfg: FederationConfig) -> None:
        members = [("host", cfg.host), *((f"accounts.{i}", a) for i, a in enumerate(cfg.accounts))]
        self._members = {acct.name: (where, acct) for where, acct in members}
        self._keys = str(keys_root(cfg))
        self._found: dict[str, bytes] = {}

    def __contains__(self, name: object) -> bool:
        return name in self._members  # membership needs no pin: a member without one fails when it is needed

    def __getitem__(self, name: str) -> bytes:
        if (pin := self._found.get(name)) is None:
            pin = self._found[name] = self._lookup(name)
        return pin

    def _lookup(self, name: str) -> bytes:
        where, acct = self._members[name]
        if acct.identity:
            return parse_pin(acct.identity)
        if (pin := _local_pin(os.path.join(self._keys, name, IDENTITY_FILE))) is not None:
            return pin
        raise ConfigError(
            f"{where}.identity: account {name!r} has no pinned identity key and this machine does not "
            f"hold its keys; ask that organisation for its pin (`fedring identity show`) and put it in the "
            f"federation file"
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._members)

    def __len__(self) -> int:
        return len(self._members)


_LOCAL_PINS: dict[tuple[str, int, int, int, int, int], bytes] = {}


def _local_pin(path: str) -> bytes | None:
    """The signing pin of the identity file at ``path`` (None without one), derived once per version of the file.

    Where one machine holds every account's keys (a simulation, the embedded default) and
    the federation file pins none, each account's stage looks up the pins of every account
    whose statements it checks (all n advertisements, all n signed survivor sets):
    n² lookups a stage. Reading the file each time, its path built, cost about 40 µs a
    lookup: by estimate 100 s of CPU a round at 1,000 accounts. A lookup costs one ``stat``: the
    pin is derived again when the file's inode, size, mode, or modification or change time
    (nanoseconds) differs, the way Python's bytecode cache validates a source file. A
    replaced or re-permissioned identity is seen by the next lookup (a ``PinBook`` keeps
    what it looked up for its stage). No private key text is kept.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    version = (path, st.st_ino, st.st_size, st.st_mode, st.st_mtime_ns, st.st_ctime_ns)
    pin = _LOCAL_PINS.get(version)
    if pin is None:
        pin = _LOCAL_PINS[version] = Identity.from_json(read_private(Path(path))).signing_public
    return pin


def ensure_keys(cfg: FederationConfig, account: str, store: Store) -> KeyRing:
    """Load the account's key ring, creating its identity and authority on first use; publish its public keys."""
    where = keys_dir(cfg, account)
    identity = load_identity(cfg, account)
    authority_file = where / "authority.json"
    if authority_file.exists():
        authority, ring = Authority.load(authority_file), KeyRing.load(where / "ring")
    else:
        authority, ring = new_account_keys(account)
        ring.save(where / "ring")
        authority.save(authority_file)
    publish_public_keys(store, authority, identity)
    return ring


def public_document(authority: Authority, identity: Identity) -> bytes:
    """The authority's public keys as a statement signed by the account's identity."""
    body = signed.canonical(authority.public_document())
    return signed.sign(identity, PUBLIC_KEYS, body, {"authority": authority.name})


def publish_public_keys(store: Store, authority: Authority, identity: Identity) -> str:
    """Publish the authority's current signed public document, unless the latest one is identical."""
    data = public_document(authority, identity)
    existing = store.list(PUBLIC_KEYS_PREFIX)
    if existing and store.get(existing[-1]) == data:
        return existing[-1]
    key = public_keys(len(existing) + 1, sha256_hex(data))
    store.put(key, data)
    return key


def latest_public_keys(store: Store) -> bytes:
    """An account's latest signed public key document (``ObjectNotFound`` if it never published one)."""
    existing = store.list(PUBLIC_KEYS_PREFIX)
    if not existing:
        raise ObjectNotFound(f"no public keys at {store.where(PUBLIC_KEYS_PREFIX)}; enrol the account first")
    return store.get(existing[-1])


def verified_directory(documents: Mapping[str, bytes], pinned: Mapping[str, bytes] | None) -> PublicDirectory:
    """A directory of the public keys each authority signed, checked against its pin.

    ``pinned=None``: the documents were checked when this account accepted them (its own
    sealed copy), and are only parsed.
    """
    docs = []
    for name, blob in sorted(documents.items()):
        if pinned is None:
            body = signed.body(blob)
        else:
            body = signed.verify(blob, pinned, kind=PUBLIC_KEYS, signer=name, context={"authority": name})
        docs.append(json.loads(body))
    return PublicDirectory.from_documents(docs)


@dataclass(frozen=True)
class Party:
    """What a stage may use: this account's own store and keys, the public directory, the pins."""

    name: str
    store: Store
    keyring: KeyRing
    directory: PublicDirectory
    run: str
    identity: Identity = field(repr=False)
    pins: Mapping[str, bytes] = field(repr=False)

    def seal_to(self, recipient: str, data: bytes, *, rnd: Round, stage: str, policy: str | None = None) -> bytes:
        """Seal ``data`` to one account (or a policy), bound to run, round, stage and both parties."""
        ctx = context(self.run, rnd, stage, sender=self.name, recipient=recipient)
        return bytes(seal_bytes(policy or identity_attribute(recipient), self.directory, data, context=ctx))

    def open_from(self, sender: str, blob: bytes, *, rnd: Round, stage: str, recipient: str | None = None) -> bytes:
        ctx = context(self.run, rnd, stage, sender=sender, recipient=recipient or self.name)
        return bytes(open_bytes(self.keyring, blob, context=ctx))

    def send(self, recipient: str, data: bytes, *, rnd: Round, stage: str) -> bytes:
        """Seal ``data`` to ``recipient`` and sign the envelope: only it reads, anyone can check who wrote."""
        sealed = self.seal_to(recipient, data, rnd=rnd, stage=stage)
        return self.sign(stage, sealed, rnd=rnd, to=recipient)

    def receive(self, sender: str, blob: bytes, *, rnd: Round, stage: str) -> bytes:
        """The inverse of ``send``: check ``sender``'s signature against its pin, then open."""
        sealed = self.verify(blob, stage, sender, rnd=rnd, to=self.name)
        return self.open_from(sender, sealed, rnd=rnd, stage=stage)

    def sign(self, kind: str, body: bytes, *, rnd: Round, **ctx: Any) -> bytes:
        """A statement of ``kind`` by this account, bound to the run and round (and ``ctx``)."""
        return signed.sign(self.identity, kind, body, {"run": self.run, "round": rnd, **ctx})

    def verify(self, blob: bytes, kind: str, signer: str, *, rnd: Round, **ctx: Any) -> bytes:
        """The body of ``signer``'s statement of ``kind`` for this run and round, checked against its pin."""
        return signed.verify(blob, self.pins, kind=kind, signer=signer, context={"run": self.run, "round": rnd, **ctx})

    def keep(self, key: str, data: bytes, *, rnd: Round, stage: str) -> bytes:
        """Store private state sealed to this account itself, unless some is stored already.

        Returns the state now stored: ``data``, or what an earlier attempt of the stage
        kept (a retry or a rerun after a crash continues with the first attempt's secrets).
        """
        sealed = self.seal_to(self.name, data, rnd=rnd, stage=stage)
        stored = self.store.put_once(key, sealed)
        # put_once hands back our own envelope when it stored it: no need to open it again
        return data if stored is sealed else self.open_from(self.name, stored, rnd=rnd, stage=stage)

    def recall(self, key: str, *, rnd: Round, stage: str) -> bytes:
        return self.open_from(self.name, self.store.get(key), rnd=rnd, stage=stage)


@dataclass(frozen=True)
class Host(Party):
    """The host's party, and its view of each client bucket (read outbox/, write inbox/)."""

    cfg: FederationConfig = field(repr=False, kw_only=True)

    def view(self, account: str, rnd: Round | None = None) -> Store:
        """``account``'s bucket through the role the host assumes there (session named after ``rnd``)."""
        return host_view(self.cfg, account, rnd=rnd)

    def outbox_bytes(self, account: str, rnd: Round) -> int:
        """Bytes the account sent in round ``rnd``: everything it put in its outbox for the round."""
        view = self.view(account, rnd)
        return sum(len(view.get(k)) for k in view.list(outbox_prefix(self.run, rnd)))


def client_party(cfg: FederationConfig, account: str, store: Store | None = None) -> Party:
    """A client's party: its own store and keys, and the directory the host delivered to its inbox.

    ``store`` defaults to the account's own bucket. Keys are made and published at
    enrolment (``ensure_keys``); a stage only loads them. Every document of the delivered
    directory must carry its authority's signature, checked against the pins.
    """
    store = store or owner_store(cfg, account)
    ring_dir = keys_dir(cfg, account) / "ring"
    ring = KeyRing.load(ring_dir) if ring_dir.exists() else ensure_keys(cfg, account, store)
    pinned = PinBook(cfg)
    identity = load_identity(cfg, account)
    accepted = accepted_directory(cfg.run)
    if store.exists(accepted):  # checked once per run, then kept: a later substitution changes nothing
        keeper = Party(account, store, ring, PublicDirectory(), cfg.run, identity, pinned)
        found = _kept_directory(keeper.recall(accepted, rnd=0, stage=DIRECTORY))
    else:
        delivered = store.get(directory(cfg.run))
        found = verified_directory(decode_bundle(delivered), pinned)
        keeper = Party(account, store, ring, found, cfg.run, identity, pinned)
        kept = keeper.keep(accepted, delivered, rnd=0, stage=DIRECTORY)
        if kept != delivered:  # a concurrent attempt accepted first: hold to its copy
            found = _kept_directory(kept)
    return Party(account, store, ring, found, cfg.run, identity, pinned)


@lru_cache(maxsize=4)
def _kept_directory(bundle: bytes) -> PublicDirectory:
    """The directory an account accepted (its own sealed copy, checked then), parsed once per content.

    Every stage of every account reads its accepted copy; parsing the n documents each
    time cost about 40 ms of each stage at 1,000 accounts. The bytes, read and opened each
    time, are the key, so an account whose copy differs (a host that handed out different
    directories) gets its own parse. A directory is not changed once built.
    """
    return verified_directory(decode_bundle(bundle), None)


def host_party(cfg: FederationConfig) -> Host:
    """The host's party, rebuilt from its keys and the accounts' published (signed) public keys."""
    store = host_store(cfg)
    ring = ensure_keys(cfg, cfg.host.name, store)
    pinned = pins(cfg)
    documents = {cfg.host.name: latest_public_keys(store)}
    documents |= {a.name: latest_public_keys(host_view(cfg, a.name)) for a in cfg.accounts}
    found = verified_directory(documents, pinned)
    return Host(cfg.host.name, store, ring, found, cfg.run, load_identity(cfg, cfg.host.name), pinned, cfg=cfg)
