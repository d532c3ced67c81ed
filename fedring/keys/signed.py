"""Signed statements: bytes signed by an account's identity, checked against pinned keys.

An envelope proves nothing about who sealed it (anyone with the public keys can seal),
and a host that relays every message could forge any of them. So every public document
of the protocol (authority public keys, round advertisements, shares, partial sums,
consistency messages, reveals, the global model's digest, stage requests) travels
signed by its author, and every reader checks the signature against the author's
*pinned* Ed25519 key from its own federation file, never against a key the host hands
it (Bonawitz et al. 2017, section 4.3 assumes exactly such a PKI).

Format: ``FRSIG1`` newline, one line of canonical JSON (the header), newline, the body::

    {"kind": ..., "signer": ..., "context": {...}, "sha256": <hex of body>,
     "signature": <hex Ed25519 over the header without "signature">}

The signature covers kind, signer, context and the body's hash, so a statement moved
to another run, round, stage or recipient, or claimed by another signer, fails.
Ed25519 is deterministic: signing the same statement again gives the same bytes, which
an immutable store accepts as a no-op (a retried stage rewrites nothing).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from fedring.errors import IntegrityError, UnknownKey
from fedring.keys.identity import Identity

MAGIC = b"FRSIG1\n"
Pins = Mapping[str, bytes]


def canonical(obj: Any) -> bytes:
    """Canonical JSON: sorted keys, no spaces, ASCII (the bytes that are signed)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sign(identity: Identity, kind: str, body: bytes, context: Mapping[str, Any]) -> bytes:
    """``body`` signed by ``identity`` as a statement of ``kind`` bound to ``context``."""
    header = {"kind": kind, "signer": identity.account, "context": dict(context), "sha256": hashlib.sha256(body).hexdigest()}
    header["signature"] = identity.sign(canonical(header)).hex()
    return MAGIC + canonical(header) + b"\n" + body


def signer_of(blob: bytes) -> str:
    """Who claims to have signed ``blob`` (not verified)."""
    return _split(blob)[0]["signer"]


def body(blob: bytes) -> bytes:
    """The body of a statement, NOT verified: only for a copy the reader checked before and kept."""
    return _split(blob)[1]


def verify(blob: bytes, pins: Pins, *, kind: str, signer: str, context: Mapping[str, Any]) -> bytes:
    """The body of a statement of ``kind`` that ``signer`` signed for ``context``; IntegrityError else.

    ``pins`` maps account names to their pinned Ed25519 public keys; a signer without a
    pin is an ``UnknownKey``.
    """
    header, body = _split(blob)
    what = f"a {kind} statement from {signer}"
    if header.get("kind") != kind:
        raise IntegrityError(f"{what}: the object is a {header.get('kind')!r} statement")
    if header.get("signer") != signer:
        raise IntegrityError(f"{what}: the object is signed by {header.get('signer')!r}, not {signer!r}")
    if header.get("context") != dict(context):
        raise IntegrityError(f"{what}: made for {header.get('context')}, expected {dict(context)} (replayed or moved)")
    if header.get("sha256") != hashlib.sha256(body).hexdigest():
        raise IntegrityError(f"{what}: the body does not match the signed hash (tampered)")
    if signer not in pins:
        raise UnknownKey(signer, where="the pinned identities of the federation file (accounts.*.identity)")
    signature = header.pop("signature", "")
    try:
        if not isinstance(signature, str) or bytes.fromhex(signature).hex() != signature:
            raise ValueError("not lowercase hex")  # one spelling only: statements are not malleable
        Identity.verify(pins[signer], canonical(header), bytes.fromhex(signature))
    except (IntegrityError, ValueError):
        raise IntegrityError(f"{what}: the signature is not made by {signer}'s pinned identity key") from None
    return body


def _split(blob: bytes) -> tuple[dict, bytes]:
    if not blob.startswith(MAGIC):
        raise IntegrityError("not a signed statement (no FRSIG1 header)")
    end = blob.find(b"\n", len(MAGIC))
    raw = blob[len(MAGIC):end] if end > 0 else b""
    try:
        header = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        header = None
    if not isinstance(header, dict) or not isinstance(header.get("signer"), str) or canonical(header) != raw:
        raise IntegrityError("a signed statement's header is malformed")
    return header, blob[end + 1:]
