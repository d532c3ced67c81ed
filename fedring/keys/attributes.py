"""Attribute keys: one X25519 key pair per attribute and epoch, and its public half."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from fedring.errors import ConfigError
from fedring.keys.files import b64, unb64
from fedring.policy import ATTRIBUTE_RE


def identity_attribute(account: str) -> str:
    """The attribute an account's authority issues to the account itself: seal "to" it."""
    return f"{account}:self"


def key_id(public: bytes) -> str:
    """A short, stable name for a public key: first 8 bytes of SHA-256, in hex."""
    return hashlib.sha256(b"fedring key id\x00" + public).hexdigest()[:16]


def x25519_public(private: bytes) -> bytes:
    """The raw 32-byte X25519 public key of a raw 32-byte private key."""
    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()


@dataclass(frozen=True)
class PublicKey:
    """The public half of one attribute key: what a sealer needs."""

    attribute: str
    epoch: int
    key_id: str
    public: bytes


@dataclass(frozen=True)
class AttributeKey:
    """One attribute's private X25519 key at one epoch, as issued to a holder."""

    attribute: str
    epoch: int
    private: bytes = field(repr=False)

    @classmethod
    def generate(cls, attribute: str, epoch: int) -> AttributeKey:
        return cls(attribute, epoch, X25519PrivateKey.generate().private_bytes_raw())

    @cached_property
    def public(self) -> bytes:
        return x25519_public(self.private)

    @cached_property
    def key_id(self) -> str:
        return key_id(self.public)

    @cached_property
    def x25519(self) -> X25519PrivateKey:
        """The private key as a ``cryptography`` object, imported once."""
        return X25519PrivateKey.from_private_bytes(self.private)

    def public_key(self) -> PublicKey:
        public = self.public
        return PublicKey(self.attribute, self.epoch, key_id(public), public)

    def to_dict(self) -> dict[str, Any]:
        return {"attribute": self.attribute, "epoch": self.epoch, "private": b64(self.private)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AttributeKey:
        try:
            key = cls(str(data["attribute"]), int(data["epoch"]), unb64(data["private"], "key"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"malformed attribute key: {exc}") from exc
        if not ATTRIBUTE_RE.fullmatch(key.attribute) or len(key.private) != 32:
            raise ConfigError(f"malformed attribute key for {key.attribute!r}")
        return key
