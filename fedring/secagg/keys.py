"""Per-round secrets and pairwise mask seeds (X25519 + HKDF-SHA256).

Bonawitz et al. 2017 (https://eprint.iacr.org/2017/281, section 4, "AdvertiseKeys"):
each account i draws, for one round, a key-agreement key pair (a_i, A_i) and a
self-mask seed b_i. Two accounts i, j derive the same pairwise seed

    s_ij = HKDF-SHA256(X25519(a_i, A_j), info = label | run | round | min(i,j) | max(i,j))

so a seed is bound to its run, its round and its unordered pair: a key reused
by mistake in another round or for another pair still gives an unrelated mask.
The private key a_i and b_i are Shamir-shared (see ``shamir.py``); the caller
stores :class:`RoundSecrets` sealed to the account itself between stages.
"""

from __future__ import annotations

import hashlib
import secrets as _secrets
import struct
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fedring.errors import ConfigError, IntegrityError

__all__ = ["RoundSecrets", "new_round_secrets", "public_key_bytes", "pair_seed", "context_bytes", "self_commitment"]

_MAGIC = b"FRRS\x01"
_PAIR_LABEL = b"fedring/secagg/pair-seed/v1"
_COMMIT_LABEL = b"fedring/secagg/self-commitment/v1"


def context_bytes(*parts: str | int) -> bytes:
    """Unambiguous encoding of names and numbers: each part length-prefixed."""
    out = bytearray()
    for p in parts:
        if isinstance(p, int) and not 0 <= p < 2**64:
            raise ConfigError(f"round numbers must be in [0, 2^64), got {p!r}")
        raw = struct.pack(">Q", p) if isinstance(p, int) else p.encode("utf-8")
        if len(raw) >= 2**16:
            raise ConfigError("names must be shorter than 65536 bytes")
        out += struct.pack(">H", len(raw)) + raw
    return bytes(out)


@dataclass(frozen=True)
class RoundSecrets:
    """One account's secrets for one round: X25519 private key a_i and self-mask seed b_i.

    ``private_key`` is the 32-byte X25519 scalar (RFC 7748 encoding), ``self_seed``
    the 32-byte PRG seed. Both are secret: store the :meth:`to_bytes` form sealed.
    """

    private_key: bytes = field(repr=False)
    self_seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.private_key) != 32 or len(self.self_seed) != 32:
            raise ConfigError("RoundSecrets needs a 32-byte private_key and a 32-byte self_seed")

    def x25519(self) -> X25519PrivateKey:
        return X25519PrivateKey.from_private_bytes(self.private_key)

    def to_bytes(self) -> bytes:
        return _MAGIC + self.private_key + self.self_seed

    @classmethod
    def from_bytes(cls, data: bytes) -> "RoundSecrets":
        if len(data) != len(_MAGIC) + 64 or not data.startswith(_MAGIC):
            raise IntegrityError("not a serialised RoundSecrets")
        body = data[len(_MAGIC):]
        return cls(private_key=body[:32], self_seed=body[32:])


def new_round_secrets() -> RoundSecrets:
    """Fresh secrets for one round, from the operating system's CSPRNG."""
    key = X25519PrivateKey.generate()
    return RoundSecrets(private_key=key.private_bytes_raw(), self_seed=_secrets.token_bytes(32))


def public_key_bytes(secrets: RoundSecrets) -> bytes:
    """The 32-byte X25519 public key A_i to advertise."""
    return secrets.x25519().public_key().public_bytes_raw()


def pair_seed(my_secret: RoundSecrets | bytes, peer_public: bytes, *, run: str, rnd: int | str, a: str, b: str) -> bytes:
    """The 32-byte seed s_ab shared by accounts ``a`` and ``b``; symmetric in (a, b).

    ``my_secret`` is this side's RoundSecrets, or a bare 32-byte private key (the
    host passes a key it reconstructed from shares). ``peer_public`` is the other
    side's advertised public key. Raises IntegrityError for an invalid public key.
    """
    if a == b:
        raise ConfigError(f"pair_seed needs two different accounts, got a = b = {a!r}")
    priv = my_secret.private_key if isinstance(my_secret, RoundSecrets) else bytes(my_secret)
    if len(priv) != 32:
        raise ConfigError("my_secret must be RoundSecrets or a 32-byte X25519 private key")
    try:
        pub = X25519PublicKey.from_public_bytes(bytes(peer_public))
        shared = X25519PrivateKey.from_private_bytes(priv).exchange(pub)
    except ValueError as exc:  # malformed or low-order point
        raise IntegrityError("invalid X25519 public key") from exc
    lo, hi = sorted((a, b))
    info = _PAIR_LABEL + context_bytes(run, rnd, lo, hi)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(shared)


def self_commitment(self_seed: bytes, *, run: str, rnd: int | str, owner: str) -> bytes:
    """SHA-256 commitment to an account's self-mask seed b_i, bound to run, round and owner.

    Advertised (signed) before anyone masks, so the host can tell a wrong share of b_i
    from a right one when it reconstructs b_i: without it, a holder that reveals a bad
    share would corrupt the sum unnoticed (Bonawitz et al. 2017 commit to a_i through its
    public key; b_i has no public counterpart).
    """
    if len(self_seed) != 32:
        raise ConfigError("self_seed must be 32 bytes")
    return hashlib.sha256(_COMMIT_LABEL + context_bytes(run, rnd, owner) + bytes(self_seed)).digest()
