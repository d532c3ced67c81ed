"""Who published a version: an Ed25519 signature by the host's identity key.

An envelope proves nothing about who sealed it (anyone with the public keys can seal),
so each generation of a version's envelope is signed together with its card. The
signed statement is canonical JSON naming model, version, generation and the SHA-256
of the card and of the envelope bytes; verifying it needs only the public key.

The identity lives in the host's key directory (``identity.json``, 0600), created on
first use. Its verifying key is published once at ``registry/_publisher.json``
(immutable: a later writer cannot replace it) and repeated in every card.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from fedring.errors import IntegrityError
from fedring.keys import Identity
from fedring import layout
from fedring.registry.card import canonical
from fedring.storage import Store

SIGNATURE_FORMAT = "fedring-registry-signature/1"
IDENTITY_FILE = "identity.json"


def publisher_identity(keys_dir: Path, account: str) -> Identity:
    """The account's signing identity, created (0600) on first use."""
    path = keys_dir / IDENTITY_FILE
    if path.exists():
        return Identity.load(path)
    identity = Identity.create(account)
    identity.save(path)
    return identity


def publish_signing_key(store: Store, identity: Identity) -> None:
    """Record the publisher's verifying key in the registry (a no-op if already there)."""
    doc = canonical({"account": identity.account, "signing_key": identity.signing_public.hex()})
    store.put(layout.PUBLISHER, doc)


def registry_signing_key(store: Store) -> bytes:
    """The verifying key recorded in the registry; ObjectNotFound if nothing was published."""
    try:
        return bytes.fromhex(json.loads(store.get(layout.PUBLISHER))["signing_key"])
    except (KeyError, ValueError, TypeError) as exc:
        raise IntegrityError(f"{store.where(layout.PUBLISHER)} is malformed ({exc!r})") from None


def statement(model: str, version: int, generation: int, card: bytes, envelope: bytes) -> dict:
    return {
        "format": SIGNATURE_FORMAT,
        "model": model,
        "version": version,
        "generation": generation,
        "card_sha256": hashlib.sha256(card).hexdigest(),
        "envelope_sha256": hashlib.sha256(envelope).hexdigest(),
    }


def sign(identity: Identity, model: str, version: int, generation: int, card: bytes, envelope: bytes) -> bytes:
    """The signature object stored beside generation ``generation``."""
    body = statement(model, version, generation, card, envelope)
    return canonical({"statement": body, "signature": identity.sign(canonical(body)).hex(),
                      "signing_key": identity.signing_public.hex()})


def check(signature_doc: bytes, signing_key: bytes, model: str, version: int, generation: int,
          card: bytes, envelope: bytes) -> None:
    """Raise IntegrityError unless ``signing_key`` signed exactly these card and envelope bytes."""
    where = f"model {model}:{version} generation {generation}"
    try:
        doc = json.loads(signature_doc)
        signed, sig = doc["statement"], bytes.fromhex(doc["signature"])
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError):
        raise IntegrityError(f"{where}: the signature object is malformed") from None
    if signed != statement(model, version, generation, card, envelope):
        raise IntegrityError(f"{where}: card or envelope bytes differ from what the publisher signed")
    try:
        Identity.verify(signing_key, canonical(signed), sig)
    except IntegrityError:
        raise IntegrityError(f"{where}: the signature is not the publisher's") from None
