"""An account's long-term identity: X25519 for encryption, Ed25519 for signatures."""

from __future__ import annotations

import json

from Crypto.PublicKey import ECC
from Crypto.Signature import eddsa

from fedring.errors import ConfigError, IntegrityError
from fedring.keys.attributes import x25519_public
from fedring.keys.files import PrivateFile, b64, unb64
from fedring.layout import check_name


class Identity(PrivateFile):
    """An account's long-term keys: X25519 for encryption, Ed25519 for signatures."""

    def __init__(self, account: str, x25519: bytes, ed25519: bytes) -> None:
        self.account = check_name("account", account)
        self._x25519 = x25519
        self._signer = eddsa.new(eddsa.import_private_key(ed25519), "rfc8032")
        self._ed25519 = ed25519

    @classmethod
    def create(cls, account: str) -> Identity:
        x = ECC.generate(curve="Curve25519").seed
        return cls(account, x, ECC.generate(curve="Ed25519").seed)

    @property
    def encryption_public(self) -> bytes:
        return x25519_public(self._x25519)

    @property
    def signing_public(self) -> bytes:
        return eddsa.import_private_key(self._ed25519).public_key().export_key(format="raw")

    def sign(self, data: bytes) -> bytes:
        """A 64-byte Ed25519 (RFC 8032) signature over ``data``."""
        return self._signer.sign(data)

    @staticmethod
    def verify(public: bytes, data: bytes, signature: bytes) -> None:
        """Raise IntegrityError unless ``signature`` is ``public``'s signature over ``data``."""
        try:
            eddsa.new(eddsa.import_public_key(public), "rfc8032").verify(data, signature)
        except ValueError:
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

