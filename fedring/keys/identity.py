"""An account's long-term identity: X25519 for encryption, Ed25519 for signatures.

The Ed25519 public key is the account's *pin*: every organisation lists every account's
pin in its own federation file (``identity: ed25519:<64 hex digits>``), exchanged out of
band, and checks every signed statement against it (``fedring.keys.signed``). Signing
and verifying use ``cryptography`` (OpenSSL): RFC 8032 signatures are deterministic, so
signing the same statement twice gives the same bytes.
"""

from __future__ import annotations

import json
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from fedring.errors import ConfigError, IntegrityError
from fedring.keys.attributes import x25519_public
from fedring.keys.files import PrivateFile, b64, unb64
from fedring.layout import check_name


class Identity(PrivateFile):
    """An account's long-term keys: X25519 for encryption, Ed25519 for signatures."""

    def __init__(self, account: str, x25519: bytes, ed25519: bytes) -> None:
        self.account = check_name("account", account)
        self._x25519 = x25519
        self._signer = Ed25519PrivateKey.from_private_bytes(ed25519)
        self._ed25519 = ed25519

    @classmethod
    def create(cls, account: str) -> Identity:
        x = X25519PrivateKey.generate().private_bytes_raw()
        return cls(account, x, Ed25519PrivateKey.generate().private_bytes_raw())

    @property
    def encryption_public(self) -> bytes:
        return x25519_public(self._x25519)

    @property
    def signing_public(self) -> bytes:
        return self._signer.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def pin(self) -> str:
        """What others put in their federation file for this account: ``ed25519:<hex>``."""
        return format_pin(self.signing_public)

    def sign(self, data: bytes) -> bytes:
        """A 64-byte Ed25519 (RFC 8032) signature over ``data``."""
        return self._signer.sign(data)

    @staticmethod
    def verify(public: bytes, data: bytes, signature: bytes) -> None:
        """Raise IntegrityError unless ``signature`` is ``public``'s signature over ``data``."""
        try:
            _valid(public, data, signature)
        except (InvalidSignature, ValueError):
            raise IntegrityError("signature verification failed") from None

    def to_json(self) -> str:
        return json.dumps(
            {"account": self.account, "x25519": b64(self._x25519), "ed25519": b64(self._ed25519)}
        )

    @classmethod
    def from_json(cls, text: str) -> Identity:
        try:
            d = json.loads(text)
            return cls(d["account"], unb64(d["x25519"], "x25519"), unb64(d["ed25519"], "ed25519"))
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"malformed identity: {exc}") from exc



@lru_cache(maxsize=8192)
def _valid(public: bytes, data: bytes, signature: bytes) -> None:
    """Verify once per process: a signature found valid is remembered, as Bitcoin Core's signature cache does.

    Verifying is a pure function of the three byte strings, so a repeat gives the same
    answer without the curve arithmetic. Where one process runs many accounts' stages (a
    simulation, the embedded default, a Dask worker), every account checks the same n
    advertisements and n signed survivor sets: n² verifications of n distinct statements
    a round. Only successes are kept (``lru_cache`` does not keep an exception), so a bad
    signature is checked, and refused, every time. The arguments are the key, the signed
    header (a few hundred bytes: the body enters it as its SHA-256) and the signature.
    """
    Ed25519PublicKey.from_public_bytes(public).verify(signature, data)


PIN_PREFIX = "ed25519:"


def format_pin(public: bytes) -> str:
    return PIN_PREFIX + public.hex()


def parse_pin(text: str) -> bytes:
    """The 32-byte Ed25519 public key of a pin ``ed25519:<64 hex digits>``; ValueError otherwise."""
    if not text.startswith(PIN_PREFIX):
        raise ValueError(f"an identity pin starts with {PIN_PREFIX!r}, got {text[:20]!r}")
    try:
        public = bytes.fromhex(text[len(PIN_PREFIX):])
    except ValueError:
        raise ValueError("an identity pin is 'ed25519:' and 64 hex digits") from None
    if len(public) != 32:
        raise ValueError("an identity pin is 'ed25519:' and 64 hex digits")
    return public
