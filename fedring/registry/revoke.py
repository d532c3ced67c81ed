"""Revocation: rotate an attribute, then re-wrap every registry envelope that names it.

``rewrap_registry`` re-wraps the content key of each version's current envelope to the
directory's current epochs (``envelope.rewrap``: the payload chunks are copied byte for
byte, never re-encrypted) and writes the result as the next generation, signed. A
consumer holding only the old epoch cannot open the new generation.

What this does not do, and cannot: make a copy of an old generation that someone already
downloaded unopenable. Access is withdrawn only when the store stops serving the old
generations, so superseded envelopes are deleted from the store.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fedring import envelope
from fedring.config import FederationConfig
from fedring.errors import ConfigError
from fedring.keys import Authority, Identity, KeyRing, PublicDirectory
from fedring import layout
from fedring.registry import catalog, signing
from fedring.registry.ref import ModelRef
from fedring.registry.verify import check_version, trusted_key
from fedring.storage import Store


@dataclass
class RewrapReport:
    """What a rewrap changed: rewrapped versions, untouched ones, superseded envelopes."""

    attribute: str
    epoch: int
    rewrapped: list[dict] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def rewrap_registry(
    store: Store,
    *,
    ring: KeyRing,
    directory: PublicDirectory,
    identity: Identity,
    attribute: str,
    model: str | None = None,
) -> RewrapReport:
    """Re-wrap every current envelope that names ``attribute`` below its current epoch."""
    epoch = directory.lookup(attribute).epoch
    report = RewrapReport(attribute, epoch)
    key = trusted_key(store, identity.signing_public)
    for name in [model] if model else catalog.model_names(store):
        for number in catalog.version_numbers(store, name):
            v = catalog.fetch(store, ModelRef(name, number))
            stale = {r.attribute: r.epoch for c in v.header.clauses for r in c if r.attribute == attribute}
            if not stale or stale[attribute] >= epoch:
                report.unchanged.append(v.ref)
                _retire(store, name, number, v.generation, report)  # finishes an interrupted revoke
                continue
            check_version(v, key)  # never re-sign something that was tampered with
            out = io.BytesIO()
            envelope.rewrap(ring, directory, io.BytesIO(v.envelope), out)
            blob, nxt = out.getvalue(), v.generation + 1
            store.put(layout.envelope(name, number, nxt), blob)
            store.put(layout.signature(name, number, nxt), signing.sign(identity, name, number, nxt, v.card.raw, blob))
            report.rewrapped.append({"model": name, "version": number, "generation": nxt,
                                     "from_epoch": stale[attribute], "to_epoch": epoch,
                                     "payload_bytes_copied": len(blob) - envelope.read_header_bytes(blob).length})
            _retire(store, name, number, nxt, report)
    return report


def _retire(store: Store, model: str, version: int, current: int, report: RewrapReport) -> None:
    """Delete the envelopes older than ``current``: the store serves only the rewrapped one."""
    keys = store.list(layout.version_prefix(model, version))
    for g in layout.generations(keys, "model"):
        if g >= current:
            continue
        old = layout.envelope(model, version, g)
        store.delete(old)
        report.deleted.append(old)


def rotate(authority_dir: Path, attribute: str) -> tuple[Authority, int]:
    """Rotate ``attribute`` in the authority kept in ``authority_dir`` (as ``fedring authority``)."""
    path = authority_dir / "authority.json"
    if not path.exists():
        raise ConfigError(f"--authority {authority_dir}: no authority.json there")
    authority = Authority.load(path)
    epoch = authority.rotate(attribute)
    authority.save(path)
    (authority_dir / "public.json").write_text(json.dumps(authority.public_document(), indent=1))
    return authority, epoch


def revoke(
    cfg: FederationConfig,
    *,
    attribute: str,
    authority_dir: Path | None = None,
    rotate_first: bool = True,
    public_documents: Iterable[Mapping[str, Any]] = (),
    model: str | None = None,
    store: Store | None = None,
) -> RewrapReport:
    """Rotate ``attribute`` (its authority's new public keys published) and re-wrap the registry.

    ``authority_dir`` defaults to the key directory of the attribute's authority when that
    is an account of the federation. With ``rotate_first=False`` only the rewrap runs (to
    finish an interrupted revocation without rotating twice). ``store`` overrides the
    host's bucket as the registry (for instance one opened with other credentials).
    """
    from fedring.round.party import host_party, keys_dir, load_identity, publish_public_keys
    from fedring.storage import owner_store

    issuer = attribute.split(":", 1)[0]
    members = {a.name for a in [cfg.host, *cfg.accounts]}
    docs = list(public_documents)
    if rotate_first:
        if authority_dir is None:
            if issuer not in members:
                raise ConfigError(f"{attribute}: its authority {issuer!r} is not an account here; pass --authority DIR")
            authority_dir = keys_dir(cfg, issuer)
        authority, _ = rotate(authority_dir, attribute)
        docs.append(authority.public_document())
        if issuer in members:
            publish_public_keys(owner_store(cfg, issuer), authority, load_identity(cfg, issuer))
    elif authority_dir is not None:
        docs.append(json.loads((authority_dir / "public.json").read_text()))
    party = host_party(cfg)
    directory = party.directory.merge(PublicDirectory.from_documents(docs))
    identity = signing.publisher_identity(keys_dir(cfg, cfg.host.name), cfg.host.name)
    return rewrap_registry(store or party.store, ring=party.keyring, directory=directory, identity=identity,
                           attribute=attribute, model=model)
