"""Quantisation of float updates into the ring Z_2^32, and back.

Secure aggregation sums integers modulo 2^32 (Bonawitz et al. 2017,
"Practical Secure Aggregation for Privacy-Preserving Machine Learning",
https://eprint.iacr.org/2017/281, section 3: inputs are vectors in Z_R^m).
An account clips its update to [-c, c], scales it by its public weight p_i,
and rounds to a fixed point with ``f`` fractional bits::

    q_i = round(p_i * clip(delta_i, -c, c) * 2^f)  mod 2^32

Notes
-----
No-wrap bound. Weights are normalised, 0 <= p_i and sum_i p_i <= 1 (p_i = n_i / sum n).
Rounding moves each coordinate by at most 1/2, so for N accounts the true sum
satisfies ``|sum_i q_i| <= c * 2^f * sum_i p_i + N/2 <= c * 2^f + N/2``. When this
is below 2^31 the sum read as a two's-complement int32 is the true integer sum:
:func:`check_no_wrap` enforces it.

Error bound. Each q_i differs from ``p_i * clip(delta_i) * 2^f`` by at most 1/2,
so the dequantised weighted sum of N accounts is within ``N * 2^-(f+1)`` of the
exact weighted sum of clipped updates (plus float32 rounding of the result,
relative 2^-24). Dividing by ``P = sum of survivors' p_i`` gives the mean with
error at most ``N * 2^-(f+1) / P``.
"""

from __future__ import annotations

import math

import numpy as np

from fedring.errors import ConfigError, IntegrityError, NonFiniteUpdate

__all__ = ["quantise", "dequantise", "mean_update", "check_aggregate", "check_no_wrap", "error_bound"]

_LIMIT = 2**31


def _number(name: str, value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None


def _check_params(clip: float, frac_bits: int) -> None:
    clip = _number("clip", clip)
    if not (math.isfinite(clip) and clip > 0):
        raise ConfigError(f"clip must be a finite number > 0, got {clip!r}")
    if isinstance(frac_bits, bool) or not (isinstance(frac_bits, (int, np.integer)) and 0 <= frac_bits <= 30):
        raise ConfigError(f"frac_bits must be an integer in [0, 30], got {frac_bits!r}")
    if clip * 2.0**frac_bits >= _LIMIT:
        raise ConfigError(
            f"clip * 2^frac_bits must be below 2^31, got {clip} * 2^{frac_bits}; "
            "lower clip or frac_bits"
        )


def check_no_wrap(n_accounts: int, clip: float, frac_bits: int, *, total_weight: float = 1.0) -> None:
    """Raise ConfigError unless a sum of ``n_accounts`` quantised updates cannot wrap.

    The bound is ``clip * 2^frac_bits * total_weight + n_accounts / 2 < 2^31``,
    where ``total_weight`` bounds the sum of the weights (1 for normalised weights).
    """
    _check_params(clip, frac_bits)
    if not (isinstance(n_accounts, int) and n_accounts >= 1):
        raise ConfigError(f"n_accounts must be an integer >= 1, got {n_accounts!r}")
    if not (total_weight > 0 and math.isfinite(total_weight)):
        raise ConfigError(f"total_weight must be finite and > 0, got {total_weight!r}")
    worst = clip * 2.0**frac_bits * total_weight + n_accounts / 2
    if worst >= _LIMIT:
        raise ConfigError(
            f"a sum of {n_accounts} updates may wrap modulo 2^32: clip * 2^frac_bits * "
            f"total_weight + n/2 = {worst:.4g} must be below 2^31; lower clip or frac_bits"
        )


def error_bound(n_accounts: int, frac_bits: int) -> float:
    """Largest absolute error of a dequantised weighted sum of ``n_accounts`` updates."""
    return n_accounts * 2.0 ** -(frac_bits + 1)


def quantise(
    delta: np.ndarray, *, weight: float, clip: float, frac_bits: int
) -> tuple[np.ndarray, int]:
    """Return ``(q, clipped)``: q = round(weight * clip(delta) * 2^f) mod 2^32 as uint32.

    ``clipped`` counts the coordinates outside [-clip, clip], for metrics. A NaN or
    infinite coordinate raises ``NonFiniteUpdate``: the account refuses to contribute. Arithmetic is done in float64 so that the
    rounding error is the only error (float32 would lose bits above 2^24).
    """
    _check_params(clip, frac_bits)
    weight = _number("weight", weight)
    if not 0.0 <= weight <= 1.0:
        raise ConfigError(f"weight must be a normalised weight in [0, 1], got {weight!r}")
    x = np.asarray(delta)
    if x.ndim != 1 or not np.issubdtype(x.dtype, np.floating):
        raise ConfigError(f"delta must be a 1-D float array, got shape {x.shape} dtype {x.dtype}")
    x = x.astype(np.float64)  # a copy: the caller's array is left alone
    bad = int(np.count_nonzero(~np.isfinite(x)))
    if bad:
        raise NonFiniteUpdate(
            f"the update has {bad} NaN or infinite coordinate(s) of {x.size}; an account never sends one "
            "(clipping would hide a diverged training run in the average)"
        )
    clipped = int(np.count_nonzero(np.abs(x) > clip))
    np.clip(x, -clip, clip, out=x)
    x *= weight * 2.0**frac_bits
    np.rint(x, out=x)
    q = x.astype(np.int64).astype(np.uint32)  # int64 -> uint32 wraps: two's complement
    return q, clipped


def dequantise(total: np.ndarray, *, frac_bits: int) -> np.ndarray:
    """Read a uint32 sum as two's-complement int32 and scale by 2^-f, as float32."""
    if isinstance(frac_bits, bool) or not (isinstance(frac_bits, (int, np.integer)) and 0 <= frac_bits <= 30):
        raise ConfigError(f"frac_bits must be an integer in [0, 30], got {frac_bits!r}")
    t = np.asarray(total)
    if t.dtype != np.uint32:
        raise ConfigError(f"total must be a uint32 array, got dtype {t.dtype}")
    return (t.view(np.int32).astype(np.float64) * 2.0**-frac_bits).astype(np.float32)


def mean_update(total: np.ndarray, *, frac_bits: int, weight: float) -> np.ndarray:
    """The survivors' mean update from the exact quantised sum: dequantise, divide by ``weight``.

    ``weight`` is the survivors' total normalised weight P = sum of their p_i, so the
    result is sum_i p_i * clip(delta_i) / P, within ``error_bound(N, frac_bits) / P``.
    """
    if not weight > 0:
        raise ConfigError("the survivors' weights sum to 0: no mean to take")
    return (dequantise(total, frac_bits=frac_bits).astype(np.float64) / weight).astype(np.float32)


def check_aggregate(total: np.ndarray, *, clip: float, frac_bits: int, weight: float, accounts: int) -> None:
    """Raise IntegrityError unless the unmasked sum is one that clipped updates can produce.

    Honest accounts send |q_i| <= p_i * c * 2^f + 1/2 per coordinate, so the survivors' sum
    satisfies |sum q_i| <= c * 2^f * P + N/2 (P: the survivors' total weight, N: their
    number). A sum beyond that means an account sent an out-of-range masked input or a
    revealed share was wrong; the host refuses it rather than move the model. (Within
    the bound a dishonest account can still shift the mean by up to c per coordinate;
    ruling that out needs zero-knowledge range proofs, which fedring does not have.)
    """
    limit = clip * 2.0**frac_bits * weight + accounts / 2
    t = np.asarray(total).view(np.int32)
    outside = int(np.count_nonzero(np.abs(t.astype(np.int64)) > limit))
    if outside:
        raise IntegrityError(
            f"the unmasked aggregate is outside what {accounts} clipped updates can produce in {outside} of "
            f"{t.size} coordinates (bound {limit:.4g}): an account sent an out-of-range input"
        )
