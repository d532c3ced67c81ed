"""Federated statistics: sums over each account's data, of which the host learns only the total.

NVIDIA FLARE's federated statistics, on fedring's secure sum. Three steps, all pure:

1. ``local_sums`` (each account, on its own data): one int64 vector, laid out as

   ====================  =================  ==============================================
   section               entries            value
   ====================  =================  ==============================================
   ``count``             1                  number of rows n_i
   ``sum``               F                  sum over rows of round(x_f * 2^s)
   ``sum_sq``            F                  sum over rows of round(x_f^2 * 2^s)
   ``labels``            C (``classes``)    rows per label 0..C-1
   ``histogram``         F * (B + 2)        per feature: below lo, B equal bins on [lo, hi]
                                            (the last one closed, as numpy's), above hi
   ====================  =================  ==============================================

   with s = ``scale_bits`` fixed-point bits (default 16). Counts and histograms are
   exact; each fixed-point entry is off by at most 1/2 (plus float64's 2^-53 relative
   rounding of x^2).
2. The secure sum of those vectors (``fedring.secagg.exact``: each account's entries must
   stay below 2^47 in magnitude, checked here per feature with the option to fix;
   at most 2^16 accounts), or ``exact.plain_total`` in a plain round.
3. ``finish`` (anyone holding the totals): means, population variances, label counts and
   histograms, computed in exact rational arithmetic from the integers.

Quantisation bound, with e = 2^-(s+1), m the mean and q the mean of squares:
``|mean - true| <= e + 2^-52 |m|`` and ``|variance - true| <= e (1 + 2|m| + e) + 2^-51 q``
(``mean_bound``, ``variance_bound``). The host sees only the totals: n, the sums, the
histograms of the union, never one account's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from fedring.secagg.exact import MAX_ABS
from fedring.errors import ConfigError, DataError


@dataclass(frozen=True)
class StatsSpec:
    """What a statistics round sums: features by name, label classes, histogram bins."""

    features: tuple[str, ...]
    classes: int = 0
    bins: int = 0
    ranges: tuple[tuple[float, float], ...] = ()
    scale_bits: int = 16

    def __post_init__(self) -> None:
        if not (isinstance(self.scale_bits, int) and 0 <= self.scale_bits <= 30):
            raise ConfigError(f"statistics.scale_bits must be an integer in [0, 30], got {self.scale_bits!r}")
        if self.classes < 0 or self.bins < 0:
            raise ConfigError("statistics.classes and statistics.bins must be >= 0")
        if self.bins and len(self.ranges) != len(self.features):
            raise ConfigError(f"statistics.ranges: histograms need one (lo, hi) per feature ({len(self.features)})")
        for name, (lo, hi) in zip(self.features, self.ranges, strict=False):
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ConfigError(f"statistics.ranges[{name!r}]: need finite lo < hi, got ({lo}, {hi})")

    def sections(self) -> dict[str, slice]:
        """Where each section lies in the vector (see the module docstring)."""
        f, at, out = len(self.features), 0, {}
        for name, size in (("count", 1), ("sum", f), ("sum_sq", f), ("labels", self.classes),
                           ("histogram", f * (self.bins + 2) if self.bins else 0)):
            out[name] = slice(at, at + size)
            at += size
        return out

    @property
    def size(self) -> int:
        return self.sections()["histogram"].stop


def _fixed(values: np.ndarray, spec: StatsSpec, what: str, who: str) -> np.ndarray:
    """Column sums of round(values * 2^s) as int64, refusing any sum that could leave the bound."""
    q = np.rint(values * 2.0**spec.scale_bits)
    reach = np.abs(q).sum(axis=0)
    for f, name in enumerate(spec.features):
        if reach[f] >= MAX_ABS:
            raise DataError(
                f"{who}: feature {name!r}: its {what} at scale 2^{spec.scale_bits} reaches {reach[f]:.3g}, "
                f"beyond the exact-sum bound 2^47; lower statistics.scale_bits"
            )
    return q.astype(np.int64).sum(axis=0)


def local_sums(spec: StatsSpec, features: np.ndarray, labels: np.ndarray | None = None, *, who: str) -> np.ndarray:
    """This account's statistics vector (int64, ``spec.size`` entries); ``who`` names it in errors."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(spec.features):
        raise DataError(f"{who}: statistics need a table of {len(spec.features)} feature columns, got shape {x.shape}")
    bad = np.flatnonzero(~np.isfinite(x).all(axis=0))
    if bad.size:
        raise DataError(f"{who}: feature {spec.features[bad[0]]!r} holds NaN or infinite values")
    out = np.zeros(spec.size, dtype=np.int64)
    at = spec.sections()
    out[at["count"]] = len(x)
    out[at["sum"]] = _fixed(x, spec, "sum", who)
    out[at["sum_sq"]] = _fixed(x * x, spec, "sum of squares", who)
    if spec.classes:
        if labels is None:
            raise DataError(f"{who}: statistics count labels, but no labels were given")
        y = np.asarray(labels)
        if y.shape != (len(x),) or (y.size and (y.min() < 0 or y.max() >= spec.classes)):
            raise DataError(f"{who}: labels must be {len(x)} integers in [0, {spec.classes})")
        out[at["labels"]] = np.bincount(y.astype(np.int64), minlength=spec.classes)
    if spec.bins:
        rows = [_histogram(x[:, f], spec.bins, spec.ranges[f]) for f in range(len(spec.features))]
        out[at["histogram"]] = np.concatenate(rows)
    return out


def _histogram(column: np.ndarray, bins: int, bounds: tuple[float, float]) -> np.ndarray:
    lo, hi = bounds
    inner, _ = np.histogram(column, bins=bins, range=(lo, hi))
    return np.concatenate([[np.count_nonzero(column < lo)], inner, [np.count_nonzero(column > hi)]])


@dataclass(frozen=True)
class FederatedStats:
    """Finished statistics of the union of the accounts' data."""

    features: tuple[str, ...]
    count: int
    mean: np.ndarray  # float64 [F]
    variance: np.ndarray  # float64 [F], population (divided by n)
    label_counts: np.ndarray  # int64 [C]
    histograms: np.ndarray  # int64 [F, B + 2]: below lo, B bins, above hi
    scale_bits: int

    def std(self) -> np.ndarray:
        """Standard deviations, with 1 where a feature is constant (safe to divide by)."""
        sd = np.sqrt(self.variance)
        return np.where(sd > 0, sd, 1.0)


def finish(spec: StatsSpec, totals: np.ndarray) -> FederatedStats:
    """Means, variances, label counts and histograms from the summed vectors (exact arithmetic)."""
    t = np.asarray(totals)
    if t.shape != (spec.size,):
        raise ConfigError(f"statistics totals: expected {spec.size} entries, got {t.shape}")
    at = spec.sections()
    n = int(t[at["count"]][0])
    if n <= 0:
        raise DataError("statistics over no rows: every account's data was empty")
    scale = 2**spec.scale_bits
    means, variances = [], []
    for s1, s2 in zip(t[at["sum"]].tolist(), t[at["sum_sq"]].tolist(), strict=True):
        means.append(float(Fraction(s1, n * scale)))
        variances.append(max(0.0, float(Fraction(n * s2 * scale - s1 * s1, n * n * scale * scale))))
    hist = t[at["histogram"]].reshape(len(spec.features), spec.bins + 2) if spec.bins else np.zeros((0, 0), np.int64)
    return FederatedStats(
        spec.features, n, np.array(means), np.array(variances), t[at["labels"]].astype(np.int64),
        hist.astype(np.int64), spec.scale_bits,
    )


def mean_bound(scale_bits: int, mean_abs: float) -> float:
    """Largest error of a finished mean against the exact mean of the rows."""
    return 2.0 ** -(scale_bits + 1) + 2.0**-52 * mean_abs


def variance_bound(scale_bits: int, mean_abs: float, mean_sq: float) -> float:
    """Largest error of a finished (population) variance against the exact variance."""
    e = 2.0 ** -(scale_bits + 1)
    return e * (1 + 2 * mean_abs + e) + 2.0**-51 * mean_sq
