"""The sealed ABAC-AES envelope: ``seal`` to an attribute policy, ``open``, ``rewrap``.

A fresh 256-bit content key K per envelope. The payload is AES-256-GCM in chunks
whose nonce is ``prefix(7) || counter(4, big-endian) || last(1)``, so dropping,
reordering, duplicating or splicing chunks fails. K is XOR-split per clause, one
share per attribute, each share wrapped to the attribute's X25519 key (ephemeral
ECDH, HKDF-SHA256, AES-256-GCM). The byte format is in ``docs/envelope.md``.

The header (``fedring.envelope_format``) has a fixed part, whose hash is the
associated data of every chunk, and a key block that ``rewrap`` replaces without
touching the payload; the key block is verified before any chunk is decrypted.
Every authentication failure raises the same bare ``IntegrityError``.

Primitives: the OpenSSL-backed ``cryptography`` for X25519, HKDF and AES-GCM (the key
wraps and the payload; faster here than pycryptodome, see
``benchmarks/bench_envelope.py``); the standard library's HMAC.
"""

from __future__ import annotations

import hashlib
import shutil
import struct
from collections.abc import Callable
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from Crypto.Random import get_random_bytes

from fedring.envelope_format import (
    MAX_CHUNK,
    MESSAGE,
    MIN_CHUNK,
    PREFIX,
    TAG,
    Context,
    Header,
    Parsed,
    Recipient,
    build_header,
    derive,
    fail,
    fixed_part,
    parse_header,
    recover_key,
)
from fedring.errors import ConfigError
from fedring.keys import KeyRing, PublicDirectory
from fedring.policy import Policy, parse

__all__ = ["Header", "Recipient", "MESSAGE", "seal", "open", "seal_bytes", "open_bytes",
           "rewrap", "read_header", "read_header_bytes"]

_MAX_CHUNKS = 1 << 32


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


def _write(sink: BinaryIO, data: memoryview | bytes) -> None:
    """Write all of ``data`` (a raw file or socket may take only part of it per call).

    The chunk buffers are reused, so ``sink`` must consume the bytes during the call,
    as files, BytesIO, sockets and pipes do.
    """
    view = memoryview(data)
    while view:
        n = sink.write(view)
        view = view[len(view) if n is None else n:]


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
    _write(sink, head)
    aes, aad = AESGCM(derive(content_key)[0]), hashlib.sha256(head[: _fixed_len(head)]).digest()
    bufs = [bytearray(chunk_size), bytearray(chunk_size)]
    out = memoryview(bytearray(chunk_size + TAG))
    n = _fill(source, memoryview(bufs[0]))
    counter = 0
    while True:
        nxt = _fill(source, memoryview(bufs[1])) if n == chunk_size else 0
        last = nxt == 0
        aes.encrypt_into(_nonce(nonce_prefix, counter, last), memoryview(bufs[0])[:n], aad,
                         out[: n + TAG])
        _write(sink, out[: n + TAG])
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
    fixed = fixed_part(prefix, context, content_type, chunk_size)
    return build_header(fixed, parsed, directory, content_key, randfunc)


def _fixed_len(head: bytes | memoryview) -> int:
    return 9 + struct.unpack(">I", head[5:9])[0]


def _checked(keyring: KeyRing, parsed: Parsed, context: Context) -> bytes:
    h = parsed.header
    if fixed_part(h.nonce_prefix, context, h.content_type, h.chunk_size) != parsed.fixed:
        raise fail()
    return recover_key(keyring, parsed)[1]


def open(  # noqa: A001 - the recipe's verb, like Fernet's decrypt
    keyring: KeyRing, source: BinaryIO, sink: BinaryIO, *, context: Context
) -> Header:
    """Decrypt an envelope from ``source`` to ``sink``; IntegrityError on any tampering.

    The key block is verified before any chunk is decrypted; each chunk is verified
    before it is written. If IntegrityError is raised mid-stream, ``sink`` holds a
    verified prefix only: discard it (the CLI writes to a temporary file).
    """
    parsed = parse_header(_reader(source))
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
            raise fail()
        nxt = _fill(source, memoryview(bufs[1])) if n == size else 0
        try:
            m = aes.decrypt_into(_nonce(h.nonce_prefix, counter, nxt == 0),
                                 memoryview(bufs[0])[:n], aad, out[: n - TAG])
        except InvalidTag:
            raise fail() from None
        _write(sink, out[:m])
        if nxt == 0:
            return h
        bufs.reverse()
        n, counter = nxt, counter + 1


def seal_bytes(
    policy: str | Policy, directory: PublicDirectory, data: bytes | bytearray | memoryview, *,
    context: Context,
    content_type: str = "application/octet-stream", chunk_size: int = 1 << 20,
) -> bytearray:
    """``seal`` for a bytes payload, encrypting straight into one preallocated buffer.

    Returns that buffer: a ``bytearray``, not ``bytes``, because converting would copy
    the payload once more (measured 2-10x slower for 2 MB to 256 MiB payloads).
    """
    key, prefix = get_random_bytes(32), get_random_bytes(PREFIX)
    head = _prepare(policy, directory, context, content_type, chunk_size, key, prefix,
                    get_random_bytes)
    src = memoryview(data).cast("B")  # any contiguous buffer, counted in bytes
    count = max(1, -(-len(src) // chunk_size))
    out = bytearray(len(head) + len(src) + count * TAG)
    out[: len(head)] = head
    aes, aad = AESGCM(derive(key)[0]), hashlib.sha256(head[: _fixed_len(head)]).digest()
    dst = memoryview(out)
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
    view = memoryview(blob).cast("B")
    parsed = parse_header(_memory_reader(view))
    aes, h = AESGCM(_checked(keyring, parsed, context)), parsed.header
    aad = hashlib.sha256(parsed.fixed).digest()
    body, size = view[h.length:], h.chunk_size + TAG
    count = max(1, -(-len(body) // size))
    if len(body) - count * TAG < 0:
        raise fail()
    out = bytearray(len(body) - count * TAG)
    dst = memoryview(out)
    for i in range(count):
        piece = body[i * size: (i + 1) * size]
        if len(piece) < TAG:
            raise fail()
        try:
            aes.decrypt_into(_nonce(h.nonce_prefix, i, i == count - 1), piece, aad,
                             dst[i * h.chunk_size: i * h.chunk_size + len(piece) - TAG])
        except (InvalidTag, ValueError):
            raise fail() from None
    return out


def read_header(source: BinaryIO) -> Header:
    """The header of an envelope, without keys (checksum-checked, not authenticated)."""
    return parse_header(_reader(source)).header


def read_header_bytes(blob: bytes | bytearray | memoryview) -> Header:
    """``read_header`` for an envelope held in memory."""
    return parse_header(_memory_reader(memoryview(blob).cast("B"))).header


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
    parsed = parse_header(_reader(source))
    content_key, _ = recover_key(keyring, parsed)
    new = parse(policy) if isinstance(policy, str) else policy or parse(parsed.header.policy)
    for attr in sorted(new.attributes):
        directory.lookup(attr)
    head = build_header(parsed.fixed, new, directory, content_key, get_random_bytes)
    _write(sink, head)
    shutil.copyfileobj(source, sink, 1 << 20)
    return read_header_bytes(head)
