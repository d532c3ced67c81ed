"""The envelope's header: its two parts, the key wraps, and recovering the content key.

``fedring.envelope`` is the recipe (seal, open, rewrap, streaming); this module is
the byte format it reads and writes, specified in ``docs/envelope.md``:

* the fixed part F (format, nonce prefix, context, content type, chunk size),
  whose SHA-256 is the associated data of every chunk and every key wrap;
* the key block B (policy text, clauses, wrapped shares, key ids, epochs), which
  ``rewrap`` replaces, authenticated by HMAC-SHA256 under a key derived from K;
* a SHA-256 checksum over the whole header, checked first, so that an accidental
  or naive change reads as tampering rather than as a missing key.

Primitives, all from libraries: X25519 (ephemeral-static), HKDF-SHA256 and AES-256-GCM
for the 32-byte key wraps from ``cryptography``; HMAC-SHA256 from the standard library.
They were pycryptodome's until they measured as most of a one-recipient seal (its
Python wrappers cost about 0.1 ms an HMAC, nine a seal); the bytes are the same
(``tests/test_envelope_vectors.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fedring.errors import ConfigError, IntegrityError, PolicyNotSatisfied, UnknownKey
from fedring.keys import AttributeKey, KeyRing, PublicDirectory, PublicKey
from fedring.policy import Policy, parse

MAGIC = b"FREN"
VERSION = 1
TAG = 16
PREFIX = 7
MIN_CHUNK, MAX_CHUNK = 1 << 10, 1 << 26
_MAX_SECTION = 1 << 20
_WRAP_INFO = b"fedring/envelope/v1 wrap"
_KEYS_INFO = b"fedring/envelope/v1 keys"
MESSAGE = "envelope failed authentication (tampered, truncated, or opened with the wrong context)"

Context = Mapping[str, str | int]


@dataclass(frozen=True)
class Recipient:
    """One wrapped share: to which attribute key (attribute, epoch, key id)."""

    attribute: str
    epoch: int
    key_id: str


@dataclass(frozen=True)
class Header:
    """What an envelope says about itself (readable without keys)."""

    version: int
    nonce_prefix: bytes
    context: dict[str, str | int]
    content_type: str
    chunk_size: int
    policy: str
    clauses: tuple[tuple[Recipient, ...], ...]
    length: int  # header bytes; the first chunk starts here


@dataclass(frozen=True)
class Parsed:
    """A header as read: the parsed fields plus the exact bytes that were authenticated."""

    header: Header
    fixed: bytes  # the fixed part; SHA-256 of it is the associated data
    key_block: bytes
    wraps: tuple[tuple[bytes, ...], ...]
    mac: bytes
    raw: bytes  # the whole header


def fail() -> IntegrityError:
    """The one error for every authentication failure: no detail, so no oracle."""
    return IntegrityError(MESSAGE)


def canonical(obj: Any) -> bytes:
    """Canonical JSON (sorted keys, no spaces, ASCII): equal values give equal bytes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def check_context(context: Context) -> dict[str, str | int]:
    """The context as a plain dict; a caller mistake (not tampering) is a ConfigError."""
    if not isinstance(context, Mapping):
        raise ConfigError("context must be a mapping such as {'run': ..., 'round': ..., 'stage': ...}")
    for k, v in context.items():
        if not isinstance(k, str) or isinstance(v, bool) or not isinstance(v, str | int):
            raise ConfigError(f"context entry {k!r}: keys must be str and values str or int")
    return dict(context)


def fixed_part(prefix: bytes, context: Context, content_type: str, chunk_size: int) -> bytes:
    """F: magic, version, length, canonical JSON of the fields that never change."""
    if not isinstance(content_type, str):
        raise ConfigError("content_type must be a str such as 'application/octet-stream'")
    body = canonical(
        {
            "chunk_size": chunk_size,
            "content_type": content_type,
            "context": check_context(context),
            "nonce_prefix": prefix.hex(),
        }
    )
    return MAGIC + bytes([VERSION]) + struct.pack(">I", len(body)) + body


def derive(content_key: bytes) -> tuple[bytes, bytes]:
    """Payload key and key-block MAC key from K (HKDF-SHA256, one label)."""
    keys = _hkdf(content_key, 64, _KEYS_INFO)
    return keys[:32], keys[32:]


def _hkdf(secret: bytes, length: int, info: bytes) -> bytes:
    """HKDF-SHA256 with no salt (RFC 5869: a hash length of zero bytes)."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(secret)


def _wrap_aad(aad: bytes, index: int, r: Recipient) -> bytes:
    return aad + canonical([index, r.attribute, r.epoch, r.key_id])


def _wrap(pub: PublicKey, share: bytes, aad: bytes, eph_seed: bytes) -> bytes:
    """eph_pub(32) || AES-GCM(kek, zero nonce, share)(32) || tag(16); kek is single-use."""
    eph = X25519PrivateKey.from_private_bytes(eph_seed)
    eph_pub = eph.public_key().public_bytes_raw()
    shared = eph.exchange(X25519PublicKey.from_public_bytes(pub.public))  # ValueError on a low-order key
    kek = _hkdf(shared, 32, _WRAP_INFO + eph_pub + pub.public)
    return eph_pub + AESGCM(kek).encrypt(bytes(12), share, aad)  # ciphertext, then the tag


def _unwrap(key: AttributeKey, blob: bytes, aad: bytes) -> bytes:
    if len(blob) != 80:
        raise fail()
    try:
        eph_pub = blob[:32]
        shared = key.x25519.exchange(X25519PublicKey.from_public_bytes(eph_pub))
        kek = _hkdf(shared, 32, _WRAP_INFO + eph_pub + key.public)
        return AESGCM(kek).decrypt(bytes(12), blob[32:], aad)
    except (ValueError, InvalidTag):
        raise fail() from None


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def build_header(
    fixed: bytes, policy: Policy, directory: PublicDirectory, content_key: bytes,
    randfunc: Callable[[int], bytes],
) -> bytes:
    """Key block, MAC and checksum after ``fixed``: the whole header, ready to write."""
    aad = hashlib.sha256(fixed).digest()
    clauses = []
    for index, clause in enumerate(policy.clauses):
        attrs = sorted(clause)
        shares = [randfunc(32) for _ in attrs[1:]]
        last = content_key
        for s in shares:
            last = _xor(last, s)
        entries = []
        for attr, share in zip(attrs, [*shares, last]):
            pub = directory.lookup(attr)
            r = Recipient(attr, pub.epoch, pub.key_id)
            wrapped = _wrap(pub, share, _wrap_aad(aad, index, r), randfunc(32))
            entries.append({"attribute": attr, "epoch": r.epoch, "key_id": r.key_id,
                            "wrap": wrapped.hex()})
        clauses.append(entries)
    block = canonical({"clauses": clauses, "policy": policy.text})
    mac = hmac.digest(derive(content_key)[1], aad + block, "sha256")
    head = fixed + struct.pack(">I", len(block)) + block + mac
    return head + hashlib.sha256(head).digest()


def parse_header(read: Callable[[int], bytes]) -> Parsed:
    """Read and check a header's framing and checksum; IntegrityError on anything odd."""

    def take(n: int) -> bytes:
        data = read(n)
        if len(data) != n:
            raise fail()
        return data

    start = take(9)
    (len_a,) = struct.unpack(">I", start[5:])
    if start[:5] != MAGIC + bytes([VERSION]) or len_a > _MAX_SECTION:
        raise fail()
    fixed = start + take(len_a)
    (len_b,) = struct.unpack(">I", take_b := take(4))
    if len_b > _MAX_SECTION:
        raise fail()
    block, mac, checksum = take(len_b), take(32), take(32)
    raw = fixed + take_b + block + mac
    if hashlib.sha256(raw).digest() != checksum:
        raise fail()
    try:
        a, b = json.loads(fixed[9:]), json.loads(block)
        prefix = bytes.fromhex(_typed(a["nonce_prefix"], str))
        clauses = tuple(
            tuple(Recipient(_typed(e["attribute"], str), _typed(e["epoch"], int),
                            _typed(e["key_id"], str)) for e in c)
            for c in _typed(b["clauses"], list)
        )
        wraps = tuple(tuple(bytes.fromhex(_typed(e["wrap"], str)) for e in c) for c in b["clauses"])
        header = Header(VERSION, prefix, check_context(_typed(a["context"], dict)),
                        _typed(a["content_type"], str), _typed(a["chunk_size"], int),
                        _typed(b["policy"], str), clauses, len(raw) + 32)
    except (ValueError, KeyError, TypeError, AttributeError):  # ConfigError is a ValueError
        raise fail() from None
    if len(prefix) != PREFIX or not MIN_CHUNK <= header.chunk_size <= MAX_CHUNK:
        raise fail()
    return Parsed(header, fixed, block, wraps, mac, raw + checksum)


def _typed(value: Any, kind: type) -> Any:
    """``value`` if it is exactly of JSON type ``kind`` (no bool for int), else TypeError."""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(kind.__name__)
    return value


def recover_key(keyring: KeyRing, parsed: Parsed) -> tuple[bytes, bytes]:
    """Unwrap K from the first clause the key ring holds; verify the key block MAC."""
    h = parsed.header
    aad = hashlib.sha256(parsed.fixed).digest()
    for index, (clause, wraps) in enumerate(zip(h.clauses, parsed.wraps)):
        keys = [keyring.find(r.attribute, r.epoch, r.key_id) for r in clause]
        if clause and all(keys) and len(wraps) == len(clause):
            content_key = bytes(32)
            for key, r, wrapped in zip(keys, clause, wraps):
                content_key = _xor(content_key, _unwrap(key, wrapped, _wrap_aad(aad, index, r)))
            payload_key, mac_key = derive(content_key)
            if not hmac.compare_digest(hmac.digest(mac_key, aad + parsed.key_block, "sha256"), parsed.mac):
                raise fail()
            try:
                expected = parse(h.policy).clauses
            except ValueError:
                raise fail() from None
            if [frozenset(r.attribute for r in c) for c in h.clauses] != list(expected):
                raise fail()
            return content_key, payload_key
    held = keyring.attributes
    for clause in h.clauses:  # held by name, but not at this epoch / key id
        if clause and all(r.attribute in held for r in clause):
            r = next(r for r in clause if keyring.find(r.attribute, r.epoch, r.key_id) is None)
            raise UnknownKey(r.key_id, r.epoch, where=f"the key ring (for {r.attribute}; ask its"
                             " authority to re-issue it, or a holder to rewrap the envelope)")
    raise PolicyNotSatisfied(h.policy, [sorted({r.attribute for r in c} - held) for c in h.clauses])


