"""Publish a committed round's global model as a new, immutable registry version.

Steps, in order (each a single immutable write, the card last):

1. open the round's global model (sealed to ``host:self or <participants>:self``) as host;
2. seal the weights to ``(<policy>) or <host>:self`` with the version's context: the
   publisher clause lets the host re-wrap on revocation and check the card's digest
   later; it grants nothing, the host computed these weights;
3. write the envelope as generation 1 of version n + 1, where n is the highest version
   directory: if another publisher took the same number first, the store refuses the
   envelope's other bytes (``ObjectExists``) and nothing else is written;
4. write the signature over card and envelope, then the card (the commit).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fedring.config import FederationConfig
from fedring.envelope import seal_bytes
from fedring.errors import ConfigError
from fedring.manifest import latest_manifest
from fedring.keys import Identity, PublicDirectory, identity_attribute
from fedring.layout import check_name, round_model
from fedring.policy import parse
from fedring import layout
from fedring.registry import catalog, signing
from fedring.registry.card import CONTENT_TYPE, build_card, canonical, envelope_context
from fedring.round.model import open_model
from fedring.round.party import Party, host_party, keys_dir
from fedring.storage import Store


@dataclass(frozen=True)
class Published:
    model: str
    version: int
    policy: str
    envelope_bytes: int
    weights_bytes: int
    keys: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "version": self.version, "policy": self.policy,
                "envelope_bytes": self.envelope_bytes, "weights_bytes": self.weights_bytes,
                "keys": list(self.keys)}


def envelope_policy(policy: str, publisher: str) -> str:
    """The policy actually sealed to: the consumers' policy or the publisher itself."""
    parse(policy)  # PolicySyntaxError with the position, before anything is read
    return f"({policy}) or {identity_attribute(publisher)}"


def publish_weights(
    store: Store,
    *,
    identity: Identity,
    directory: PublicDirectory,
    manifest: dict,
    rnd: int,
    weights: bytes,
    model: str,
    policy: str,
    now: float | None = None,
) -> Published:
    """Seal, sign and write ``weights`` (round ``rnd`` of ``manifest``) as a new version."""
    check_name("model name", model)
    sealed_policy = envelope_policy(policy, identity.account)
    existing = catalog.version_numbers(store, model, complete=False)
    version = (existing[-1] if existing else 0) + 1
    context = envelope_context(model, version)
    blob = bytes(seal_bytes(sealed_policy, directory, weights, context=context, content_type=CONTENT_TYPE))
    card = canonical(build_card(
        model=model, version=version, manifest=manifest, rnd=rnd, weights=weights, policy=policy,
        envelope_policy=sealed_policy, publisher=identity.account, signing_key=identity.signing_public,
        source=round_model(manifest["run"], rnd), now=now,
    ))
    signing.publish_signing_key(store, identity)
    keys = (layout.envelope(model, version, 1), layout.signature(model, version, 1), layout.card(model, version))
    store.put(keys[0], blob)
    store.put(keys[1], signing.sign(identity, model, version, 1, card, blob))
    store.put(keys[2], card)
    return Published(model, version, policy, len(blob), len(weights), keys)


def share(
    cfg: FederationConfig,
    *,
    model: str,
    policy: str,
    rnd: int | None = None,
    public_documents: Iterable[Mapping[str, Any]] = (),
    now: float | None = None,
) -> Published:
    """Publish round ``rnd`` (default: the last committed) of run ``cfg.run`` under ``policy``.

    The sealing directory is the accounts' latest public key documents plus
    ``public_documents`` (external authorities, or an account's freshly issued attribute).
    """
    party = host_party(cfg)
    manifest = latest_manifest(party.store, cfg.run)
    if manifest is None or not manifest["committed"]:
        raise ConfigError(f"run {cfg.run!r} has no committed round to share (train it first, or check --run)")
    rnd = rnd or len(manifest["committed"])
    if not 1 <= rnd <= len(manifest["committed"]):
        raise ConfigError(f"--round {rnd}: run {cfg.run!r} has {len(manifest['committed'])} committed rounds")
    envelope_policy(policy, cfg.host.name)  # a syntax error is reported before any work
    weights = open_round(party, rnd) if cfg.secagg.secure else party.store.get(round_model(cfg.run, rnd))
    directory = party.directory.merge(PublicDirectory.from_documents(public_documents))
    identity = signing.publisher_identity(keys_dir(cfg, cfg.host.name), cfg.host.name)
    return publish_weights(party.store, identity=identity, directory=directory, manifest=manifest, rnd=rnd,
                           weights=weights, model=model, policy=policy, now=now)


def open_round(party: Party, rnd: int) -> bytes:
    """The plaintext weights (the encoded model state) of a committed round, as the host opens them."""
    blob = party.store.get(round_model(party.run, rnd))
    return open_model(party, blob, rnd=rnd, host=party.name)
