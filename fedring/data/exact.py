"""Exact integer sums through the masked ring Z_2^32: int64 values as 16-bit limbs.

Statistics, evaluation counts and integer model buffers are sums of integers that must
come out exact. Secure aggregation adds uint32 words modulo 2^32, so a value would wrap
as soon as a sum of squares passed 2^32. Instead each int64 value v travels as four
16-bit limbs of its two's-complement form (least significant first)::

    v mod 2^64 = l0 + l1 * 2^16 + l2 * 2^32 + l3 * 2^48,   0 <= l_k < 2^16

Summing N accounts' limbs word by word cannot wrap while N <= 2^16 (each word sum is at
most N * (2^16 - 1) < 2^32), so the host recombines the word sums exactly, modulo 2^64,
and reads the result as a signed int64.

Bounds (checked): at most ``MAX_ACCOUNTS`` = 2^16 accounts, and every account's value
``|v| < MAX_ABS`` = 2^47, so the true total has ``|sum| < 2^63`` and is recovered exactly.
The cost is 4 words (16 bytes) per value, nothing for vectors of a few hundred counts.
"""

from __future__ import annotations

import numpy as np

from fedring.errors import ConfigError, IntegrityError

LIMB_BITS = 16
LIMBS = 4
MAX_ACCOUNTS = 2**16
MAX_ABS = 2**47
_LIMB_MASK = np.uint64(2**LIMB_BITS - 1)


def check_values(values: np.ndarray, what: str) -> np.ndarray:
    """``values`` as int64 if every ``|v| < MAX_ABS``; else a ``ConfigError`` naming ``what``."""
    v = np.asarray(values)
    if v.ndim != 1 or not np.issubdtype(v.dtype, np.integer):
        raise ConfigError(f"{what}: expected a 1-D integer vector, got shape {v.shape} dtype {v.dtype}")
    v = v.astype(np.int64)
    too_big = np.flatnonzero(np.abs(v) >= MAX_ABS) if v.size else np.zeros(0, np.int64)
    if too_big.size:
        raise ConfigError(
            f"{what}: entry {int(too_big[0])} is {int(v[too_big[0]])}, beyond the exact-sum bound "
            f"|v| < 2^47 (lower the fixed-point scale or the data's range)"
        )
    return v


def to_words(values: np.ndarray, what: str = "exact section") -> np.ndarray:
    """int64 values (each ``|v| < 2^47``) -> uint32 words, four limbs per value."""
    v = check_values(values, what).view(np.uint64)
    words = np.empty((v.size, LIMBS), dtype=np.uint32)
    for k in range(LIMBS):
        words[:, k] = (v >> np.uint64(LIMB_BITS * k)) & _LIMB_MASK
    return words.reshape(-1)


def from_words(total: np.ndarray, accounts: int) -> np.ndarray:
    """The exact int64 totals from the word-wise sum of ``accounts`` accounts' ``to_words``.

    A word sum above ``accounts * (2^16 - 1)`` is impossible for honest inputs: it raises
    ``IntegrityError`` instead of returning a wrong total.
    """
    if not (isinstance(accounts, int) and 1 <= accounts <= MAX_ACCOUNTS):
        raise ConfigError(f"accounts must be an integer in [1, {MAX_ACCOUNTS}], got {accounts!r}")
    t = np.asarray(total)
    if t.dtype != np.uint32 or t.ndim != 1 or t.size % LIMBS:
        raise ConfigError(f"total must be a 1-D uint32 vector of 4-word groups, got {t.shape} {t.dtype}")
    if t.size and int(t.max()) > accounts * (2**LIMB_BITS - 1):
        raise IntegrityError(f"an exact-section word sum exceeds what {accounts} accounts can produce")
    limbs = t.reshape(-1, LIMBS).astype(np.uint64)
    out = np.zeros(limbs.shape[0], dtype=np.uint64)
    for k in range(LIMBS):
        out += limbs[:, k] << np.uint64(LIMB_BITS * k)  # wraps modulo 2^64, as intended
    return out.view(np.int64)


def plain_total(vectors: list[np.ndarray]) -> np.ndarray:
    """The int64 sum of several accounts' exact vectors, without masking (plain rounds, tests)."""
    if not vectors or len({np.shape(v) for v in vectors}) != 1:
        raise ConfigError("plain_total needs at least one vector, all of one length")
    words = [to_words(v) for v in vectors]
    total = np.zeros_like(words[0])
    for w in words:
        total += w  # uint32 addition modulo 2^32, as the masked ring does
    return from_words(total, len(vectors))
