"""The sealed ABAC-AES envelope: ``seal`` to an attribute policy, ``open``, ``rewrap``.

A fresh 256-bit content key K per envelope. The payload is AES-256-GCM in chunks
whose nonce is ``prefix(7) || counter(4, big-endian) || last(1)``, so dropping,
reordering, duplicating or splicing chunks fails. K is XOR-split per clause, one
share per attribute, each share wrapped to the attribute's X25519 key (ephemeral
ECDH, HKDF-SHA256, AES-256-GCM). The byte format is in ``docs/envelope.md``.

The header has two parts, so that ``rewrap`` can replace key wraps without
touching the payload:

* the fixed part (format, nonce prefix, context, content type, chunk size). Its
  SHA-256 is the associated data of every chunk and of every key wrap;
* the key block (policy text, clauses, wrapped shares, key ids, epochs),
  authenticated by HMAC-SHA256 under a key derived from K, verified before any
  chunk is decrypted. Rewrap may change the policy: it lives in the key block.

A SHA-256 checksum over the whole header is checked first, so an accidental or
naive change of a key id reads as tampering, not as a missing key. Every
authentication failure raises the same bare ``IntegrityError``.

Primitives: pycryptodome for X25519, HKDF, HMAC and the key-wrap AES-GCM; the
OpenSSL-backed ``cryptography`` AESGCM for the payload (faster here, see
``benchmarks/bench_envelope.py``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from Crypto.Cipher import AES
from Crypto.Hash import HMAC, SHA256
from Crypto.Protocol.DH import import_x25519_private_key, import_x25519_public_key, key_agreement
from Crypto.Protocol.KDF import HKDF
from Crypto.Random import get_random_bytes

from fedring.errors import ConfigError, IntegrityError, PolicyNotSatisfied, UnknownKey
from fedring.keys import AttributeKey, KeyRing, PublicDirectory, PublicKey
from fedring.policy import Policy, parse

MAGIC = b"FREN"
VERSION = 1
TAG = 16
PREFIX = 7
MIN_CHUNK, MAX_CHUNK = 1 << 10, 1 << 26
_MAX_SECTION = 1 << 20
_MAX_CHUNKS = 1 << 32
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
class _Parsed:
    header: Header
    fixed: bytes  # the fixed part; SHA-256 of it is the associated data
    key_block: bytes
    wraps: tuple[tuple[bytes, ...], ...]
    mac: bytes
    raw: bytes  # the whole header


def _fail() -> IntegrityError:
    return IntegrityError(MESSAGE)


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _check_context(context: Context) -> dict[str, str | int]:
    if not isinstance(context, Mapping):
        raise ConfigError("context must be a mapping such as {'run': ..., 'round': ..., 'stage': ...}")
    for k, v in context.items():
        if not isinstance(k, str) or isinstance(v, bool) or not isinstance(v, str | int):
            raise ConfigError(f"context entry {k!r}: keys must be str and values str or int")
    return dict(context)


def _fixed_part(prefix: bytes, context: Context, content_type: str, chunk_size: int) -> bytes:
    body = _canonical(
        {
            "chunk_size": chunk_size,
            "content_type": content_type,
            "context": _check_context(context),
            "nonce_prefix": prefix.hex(),
        }
    )
    return MAGIC + bytes([VERSION]) + struct.pack(">I", len(body)) + body


def _derive(content_key: bytes) -> tuple[bytes, bytes]:
    """Payload key and key-block MAC key from K (HKDF-SHA256, one label)."""
    keys = HKDF(content_key, 64, b"", SHA256, context=_KEYS_INFO)
    return keys[:32], keys[32:]


def _wrap_aad(aad: bytes, index: int, r: Recipient) -> bytes:
    return aad + _canonical([index, r.attribute, r.epoch, r.key_id])


def _wrap(pub: PublicKey, share: bytes, aad: bytes, eph_seed: bytes) -> bytes:
    """eph_pub(32) || AES-GCM(kek, zero nonce, share)(32) || tag(16); kek is single-use."""
    eph = import_x25519_private_key(eph_seed)
    eph_pub = eph.public_key().export_key(format="raw")
    info = _WRAP_INFO + eph_pub + pub.public
    kek = key_agreement(
        eph_priv=eph,
        static_pub=import_x25519_public_key(pub.public),
        kdf=lambda z: HKDF(z, 32, b"", SHA256, context=info),
    )
    cipher = AES.new(kek, AES.MODE_GCM, nonce=bytes(12))
    cipher.update(aad)
    ct, tag = cipher.encrypt_and_digest(share)
    return eph_pub + ct + tag


def _unwrap(key: AttributeKey, blob: bytes, aad: bytes) -> bytes:
    if len(blob) != 80:
        raise _fail()
    try:
        eph_pub = blob[:32]
        info = _WRAP_INFO + eph_pub + key.public
        kek = key_agreement(
            static_priv=key.ecc,
            eph_pub=import_x25519_public_key(eph_pub),
            kdf=lambda z: HKDF(z, 32, b"", SHA256, context=info),
        )
        cipher = AES.new(kek, AES.MODE_GCM, nonce=bytes(12))
        cipher.update(aad)
        return cipher.decrypt_and_verify(blob[32:64], blob[64:])
    except ValueError:
        raise _fail() from None


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def _key_header(
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
    block = _canonical({"clauses": clauses, "policy": policy.text})
    mac = HMAC.new(_derive(content_key)[1], aad + block, SHA256).digest()
    head = fixed + struct.pack(">I", len(block)) + block + mac
    return head + hashlib.sha256(head).digest()


def _parse_header(read: Callable[[int], bytes]) -> _Parsed:
    """Read and check a header's framing and checksum; IntegrityError on anything odd."""

    def take(n: int) -> bytes:
        data = read(n)
        if len(data) != n:
            raise _fail()
        return data

    start = take(9)
    (len_a,) = struct.unpack(">I", start[5:])
    if start[:5] != MAGIC + bytes([VERSION]) or len_a > _MAX_SECTION:
        raise _fail()
    fixed = start + take(len_a)
    (len_b,) = struct.unpack(">I", take_b := take(4))
    if len_b > _MAX_SECTION:
        raise _fail()
    block, mac, checksum = take(len_b), take(32), take(32)
    raw = fixed + take_b + block + mac
    if hashlib.sha256(raw).digest() != checksum:
        raise _fail()
    try:
        a, b = json.loads(fixed[9:]), json.loads(block)
        prefix = bytes.fromhex(a["nonce_prefix"])
        clauses = tuple(
            tuple(Recipient(e["attribute"], int(e["epoch"]), e["key_id"]) for e in c)
            for c in b["clauses"]
        )
        wraps = tuple(tuple(bytes.fromhex(e["wrap"]) for e in c) for c in b["clauses"])
        header = Header(VERSION, prefix, dict(a["context"]), str(a["content_type"]),
                        int(a["chunk_size"]), str(b["policy"]), clauses, len(raw) + 32)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise _fail() from None
    if len(prefix) != PREFIX or not MIN_CHUNK <= header.chunk_size <= MAX_CHUNK:
        raise _fail()
    return _Parsed(header, fixed, block, wraps, mac, raw + checksum)


def _recover(keyring: KeyRing, parsed: _Parsed) -> tuple[bytes, bytes]:
    """Unwrap K from the first clause the key ring holds; verify the key block MAC."""
    h = parsed.header
    aad = hashlib.sha256(parsed.fixed).digest()
    for index, (clause, wraps) in enumerate(zip(h.clauses, parsed.wraps)):
        keys = [keyring.find(r.attribute, r.epoch, r.key_id) for r in clause]
        if clause and all(keys) and len(wraps) == len(clause):
            content_key = bytes(32)
            for key, r, wrapped in zip(keys, clause, wraps):
                content_key = _xor(content_key, _unwrap(key, wrapped, _wrap_aad(aad, index, r)))
            payload_key, mac_key = _derive(content_key)
            try:
                HMAC.new(mac_key, aad + parsed.key_block, SHA256).verify(parsed.mac)
                expected = parse(h.policy).clauses
            except ValueError:
                raise _fail() from None
            if [frozenset(r.attribute for r in c) for c in h.clauses] != list(expected):
                raise _fail()
            return content_key, payload_key
    held = keyring.attributes
    for clause in h.clauses:  # held by name, but not at this epoch / key id
        if clause and all(r.attribute in held for r in clause):
            r = next(r for r in clause if keyring.find(r.attribute, r.epoch, r.key_id) is None)
            raise UnknownKey(r.key_id, r.epoch, where=f"the key ring (for {r.attribute}; ask its"
                             " authority to re-issue it, or a holder to rewrap the envelope)")
    raise PolicyNotSatisfied(h.policy, [sorted({r.attribute for r in c} - held) for c in h.clauses])


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    if counter >= _MAX_CHUNKS:
        raise ConfigError("payload has more than 2**32 chunks: use a larger chunk_size")
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _reader(source: BinaryIO) -> Callable[[int], bytes]:
    """``read(n)`` that returns n bytes unless the source ends (pipes return short reads)."""

    def read(n: int) -> bytes:
        buf = bytearray(n)
        return bytes(buf[: _fill(source, memoryview(buf))])

    return read


def _fill(source: BinaryIO, view: memoryview) -> int:
    """Read until ``view`` is full or the source ends (pipes return short reads)."""
    got = 0
    readinto = getattr(source, "readinto", None)
    while got < len(view):
        if readinto is not None:
            n = readinto(view[got:])
        else:
            data = source.read(len(view) - got)
            n = len(data)
            view[got:got + n] = data
        if not n:
            break
        got += n
    return got


def seal(
    policy: str | Policy, directory: PublicDirectory, source: BinaryIO, sink: BinaryIO, *,
    context: Context, content_type: str = "application/octet-stream", chunk_size: int = 1 << 20,
) -> Header:
    """Encrypt ``source`` into ``sink`` so that only holders of a clause of ``policy`` can open."""
    return _seal_with(policy, directory, source, sink, context=context, content_type=content_type,
                      chunk_size=chunk_size, content_key=get_random_bytes(32),
                      nonce_prefix=get_random_bytes(PREFIX), randfunc=get_random_bytes)


def _seal_with(
    policy: str | Policy, directory: PublicDirectory, source: BinaryIO, sink: BinaryIO, *,
    context: Context, content_type: str, chunk_size: int, content_key: bytes,
    nonce_prefix: bytes, randfunc: Callable[[int], bytes],
) -> Header:
    """``seal`` with the randomness passed in, to reproduce the test vectors."""
    head = _prepare(policy, directory, context, content_type, chunk_size, content_key,
                    nonce_prefix, randfunc)
    sink.write(head)
    aes, aad = AESGCM(_derive(content_key)[0]), hashlib.sha256(head[: _fixed_len(head)]).digest()
    bufs = [bytearray(chunk_size), bytearray(chunk_size)]
    out = memoryview(bytearray(chunk_size + TAG))
    n = _fill(source, memoryview(bufs[0]))
    counter = 0
    while True:
        nxt = _fill(source, memoryview(bufs[1])) if n == chunk_size else 0
        last = nxt == 0
        aes.encrypt_into(_nonce(nonce_prefix, counter, last), memoryview(bufs[0])[:n], aad,
                         out[: n + TAG])
        sink.write(out[: n + TAG])
        if last:
            break
        bufs.reverse()
        n, counter = nxt, counter + 1
    return read_header_bytes(head)


def _prepare(
    policy: str | Policy, directory: PublicDirectory, context: Context, content_type: str,
    chunk_size: int, content_key: bytes, prefix: bytes, randfunc: Callable[[int], bytes],
) -> bytes:
    """Check the arguments and build the header; nothing is written if this raises."""
    if not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
        raise ConfigError(f"chunk_size must be between {MIN_CHUNK} and {MAX_CHUNK} bytes")
    if len(content_key) != 32 or len(prefix) != PREFIX:
        raise ConfigError("content_key must be 32 bytes and nonce_prefix 7 bytes")
    parsed = parse(policy) if isinstance(policy, str) else policy
    for attr in sorted(parsed.attributes):  # refuse unknown attributes before writing anything
        directory.lookup(attr)
    fixed = _fixed_part(prefix, context, content_type, chunk_size)
    return _key_header(fixed, parsed, directory, content_key, randfunc)


def _fixed_len(head: bytes | memoryview) -> int:
    return 9 + struct.unpack(">I", head[5:9])[0]


def _checked(keyring: KeyRing, parsed: _Parsed, context: Context) -> bytes:
    h = parsed.header
    if _fixed_part(h.nonce_prefix, context, h.content_type, h.chunk_size) != parsed.fixed:
        raise _fail()
    return _recover(keyring, parsed)[1]


def open(  # noqa: A001 - the recipe's verb, like Fernet's decrypt
    keyring: KeyRing, source: BinaryIO, sink: BinaryIO, *, context: Context
) -> Header:
    """Decrypt an envelope from ``source`` to ``sink``; IntegrityError on any tampering.

    The key block is verified before any chunk is decrypted; each chunk is verified
    before it is written. If IntegrityError is raised mid-stream, ``sink`` holds a
    verified prefix only: discard it (the CLI writes to a temporary file).
    """
    parsed = _parse_header(_reader(source))
    aes = AESGCM(_checked(keyring, parsed, context))
    h = parsed.header
    aad = hashlib.sha256(parsed.fixed).digest()
    size = h.chunk_size + TAG
    bufs = [bytearray(size), bytearray(size)]
    out = memoryview(bytearray(h.chunk_size))
    n = _fill(source, memoryview(bufs[0]))
    counter = 0
    while True:
        if n < TAG:
            raise _fail()
        nxt = _fill(source, memoryview(bufs[1])) if n == size else 0
        try:
            m = aes.decrypt_into(_nonce(h.nonce_prefix, counter, nxt == 0),
                                 memoryview(bufs[0])[:n], aad, out[: n - TAG])
        except InvalidTag:
            raise _fail() from None
        sink.write(out[:m])
        if nxt == 0:
            return h
        bufs.reverse()
        n, counter = nxt, counter + 1


def seal_bytes(
    policy: str | Policy, directory: PublicDirectory, data: bytes, *, context: Context,
    content_type: str = "application/octet-stream", chunk_size: int = 1 << 20,
) -> bytearray:
    """``seal`` for a bytes payload, encrypting straight into one preallocated buffer.

    Returns that buffer: a ``bytearray``, not ``bytes``, because converting would copy
    the payload once more (measured 2-10x slower for 2 MB to 256 MiB payloads).
    """
    key, prefix = get_random_bytes(32), get_random_bytes(PREFIX)
    head = _prepare(policy, directory, context, content_type, chunk_size, key, prefix,
                    get_random_bytes)
    count = max(1, -(-len(data) // chunk_size))
    out = bytearray(len(head) + len(data) + count * TAG)
    out[: len(head)] = head
    aes, aad = AESGCM(_derive(key)[0]), hashlib.sha256(head[: _fixed_len(head)]).digest()
    src, dst = memoryview(data), memoryview(out)
    pos = len(head)
    for i in range(count):
        piece = src[i * chunk_size: (i + 1) * chunk_size]
        pos += aes.encrypt_into(_nonce(prefix, i, i == count - 1), piece, aad,
                                dst[pos: pos + len(piece) + TAG])
    return out


def open_bytes(keyring: KeyRing, blob: bytes | bytearray | memoryview, *,
               context: Context) -> bytearray:
    """``open`` for an envelope in memory, decrypting straight into one preallocated buffer.

    Returns that buffer (a ``bytearray``; see ``seal_bytes``). Nothing is returned
    unless every chunk verified.
    """
    view = memoryview(blob)
    parsed = _parse_header(_memory_reader(view))
    aes, h = AESGCM(_checked(keyring, parsed, context)), parsed.header
    aad = hashlib.sha256(parsed.fixed).digest()
    body, size = view[h.length:], h.chunk_size + TAG
    count = max(1, -(-len(body) // size))
    if len(body) - count * TAG < 0:
        raise _fail()
    out = bytearray(len(body) - count * TAG)
    dst = memoryview(out)
    for i in range(count):
        piece = body[i * size: (i + 1) * size]
        if len(piece) < TAG:
            raise _fail()
        try:
            aes.decrypt_into(_nonce(h.nonce_prefix, i, i == count - 1), piece, aad,
                             dst[i * h.chunk_size: i * h.chunk_size + len(piece) - TAG])
        except (InvalidTag, ValueError):
            raise _fail() from None
    return out


def read_header(source: BinaryIO) -> Header:
    """The header of an envelope, without keys (checksum-checked, not authenticated)."""
    return _parse_header(_reader(source)).header


def read_header_bytes(blob: bytes | bytearray | memoryview) -> Header:
    """``read_header`` for an envelope held in memory."""
    return _parse_header(_memory_reader(memoryview(blob))).header


def _memory_reader(view: memoryview) -> Callable[[int], bytes]:
    cursor = 0

    def read(n: int) -> bytes:
        nonlocal cursor
        cursor += n
        return bytes(view[cursor - n: cursor])

    return read


def rewrap(
    keyring: KeyRing, directory: PublicDirectory, source: BinaryIO, sink: BinaryIO, *,
    policy: str | Policy | None = None,
) -> Header:
    """Re-wrap K to the directory's current epochs (and optionally a new policy).

    Copies the payload chunks byte for byte. The caller must satisfy the envelope's
    current policy; a holder who can open can always re-share, so this grants nothing new.
    """
    parsed = _parse_header(_reader(source))
    content_key, _ = _recover(keyring, parsed)
    new = parse(policy) if isinstance(policy, str) else policy or parse(parsed.header.policy)
    for attr in sorted(new.attributes):
        directory.lookup(attr)
    head = _key_header(parsed.fixed, new, directory, content_key, get_random_bytes)
    sink.write(head)
    shutil.copyfileobj(source, sink, 1 << 20)
    return read_header_bytes(head)
