"""Chi-square test of byte uniformity, without scipy.

256 byte values, 255 degrees of freedom. The critical value at significance
alpha comes from the Wilson-Hilferty approximation of the chi-square quantile:
chi2_{1-alpha}(k) ~ k (1 - 2/(9k) + z sqrt(2/(9k)))^3; for alpha = 1e-6
(z = 4.7534) and k = 255 it is about 377.2 (tables: 0.999 -> 330.5). A tiny
alpha keeps a suite that checks dozens of random vectors from ever flaking.
"""

from __future__ import annotations

import math

import numpy as np

Z_1E6 = 4.753424
DOF = 255
CRITICAL = DOF * (1 - 2 / (9 * DOF) + Z_1E6 * math.sqrt(2 / (9 * DOF))) ** 3


def chi_square_bytes(v: np.ndarray) -> float:
    counts = np.bincount(np.frombuffer(v.tobytes(), dtype=np.uint8), minlength=256)
    expected = counts.sum() / 256
    return float(((counts - expected) ** 2 / expected).sum())


def looks_uniform(v: np.ndarray) -> bool:
    return chi_square_bytes(v) < CRITICAL
