"""The mask generator: AES-256-CTR keystream read as little-endian uint32.

Bonawitz et al. 2017 (https://eprint.iacr.org/2017/281, section 4) expand each
seed with a PRG; any secure PRG will do. We use AES-256 in counter mode with
the 32-byte seed as the key and an all-zero initial counter block: the
keystream is the encryption of zeros, as in NIST SP 800-38A section 6.5.
A seed is used for one vector only (seeds are per round and per pair), so the
fixed counter start never repeats a (key, counter) pair. Never numpy's
generators: they are not cryptographic.

The keystream is produced in chunks into one reusable buffer with
``cryptography``'s ``update_into``, and added into an accumulator in place,
so masking a d-vector needs no d-sized temporary.
"""

from __future__ import annotations

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from fedring.errors import ConfigError

__all__ = ["keystream_u32", "add_keystream", "SEED_BYTES"]

SEED_BYTES = 32
_CHUNK = 1 << 16  # uint32 words per chunk: 256 KiB, fits in L2
_ZERO_COUNTER = bytes(16)
_ZEROS = bytes(_CHUNK * 4)


def _encryptor(key: bytes, counter_block: bytes = _ZERO_COUNTER):
    if not isinstance(key, (bytes, bytearray)) or len(key) != SEED_BYTES:
        raise ConfigError(f"seed must be {SEED_BYTES} bytes")
    return Cipher(algorithms.AES(bytes(key)), modes.CTR(counter_block)).encryptor()


def _keystream_u32(key: bytes, n: int, *, counter_block: bytes, out: np.ndarray | None = None) -> np.ndarray:
    """Keystream from an explicit initial counter block (for published test vectors)."""
    if not isinstance(n, int) or n < 0:
        raise ConfigError(f"n must be an integer >= 0, got {n!r}")
    if out is None:
        out = np.empty(n, dtype=np.uint32)
    elif out.dtype != np.uint32 or out.shape != (n,) or not out.flags.c_contiguous:
        raise ConfigError(f"out must be a contiguous uint32 array of shape ({n},)")
    enc = _encryptor(key, counter_block)
    buf = memoryview(out).cast("B")
    zeros = memoryview(_ZEROS)
    for start in range(0, n * 4, _CHUNK * 4):
        stop = min(start + _CHUNK * 4, n * 4)
        enc.update_into(zeros[: stop - start], buf[start:stop])
    if not np.little_endian:
        out.byteswap(inplace=True)  # the keystream is read little-endian on every host
    return out


def keystream_u32(seed: bytes, n: int, *, out: np.ndarray | None = None) -> np.ndarray:
    """Return the first ``n`` little-endian uint32 words of AES-256-CTR(seed, IV=0)."""
    return _keystream_u32(seed, n, counter_block=_ZERO_COUNTER, out=out)


def add_keystream(acc: np.ndarray, seed: bytes, *, sign: int = 1) -> np.ndarray:
    """Add (sign=+1) or subtract (sign=-1) the seed's keystream into ``acc`` mod 2^32, in place.

    Uses one chunk-sized scratch buffer, never a temporary the size of ``acc``.
    """
    if sign not in (1, -1):
        raise ConfigError(f"sign must be +1 or -1, got {sign!r}")
    if acc.dtype != np.uint32 or acc.ndim != 1 or not acc.flags.c_contiguous:
        raise ConfigError("acc must be a contiguous 1-D uint32 array")
    enc = _encryptor(seed)
    n = acc.shape[0]
    scratch = np.empty(min(_CHUNK, n), dtype=np.uint32)
    sbuf = memoryview(scratch).cast("B")
    zeros = memoryview(_ZEROS)
    op = np.add if sign == 1 else np.subtract
    swap = not np.little_endian
    for start in range(0, n, _CHUNK):
        m = min(_CHUNK, n - start)
        enc.update_into(zeros[: m * 4], sbuf[: m * 4])
        if swap:
            scratch[:m].byteswap(inplace=True)
        op(acc[start : start + m], scratch[:m], out=acc[start : start + m])
    return acc
