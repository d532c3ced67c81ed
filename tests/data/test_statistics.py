"""Federated statistics equal a plaintext computation on the union: exactly, or within the stated bound."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedring.secagg.exact import plain_total
from fedring.data.statistics import StatsSpec, finish, local_sums, mean_bound, variance_bound
from fedring.errors import ConfigError, DataError

FEATURES = ("a", "b")
finite = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)
account = st.integers(1, 15).flatmap(
    lambda n: st.tuples(st.lists(st.tuples(finite, finite), min_size=n, max_size=n), st.lists(st.integers(0, 2), min_size=n, max_size=n))
)


@settings(max_examples=150, deadline=None)
@given(st.lists(account, min_size=1, max_size=4), st.integers(4, 16))  # 15 rows of 1e4^2 stay below 2^47 at 2^16
def test_finished_statistics_equal_the_plaintext_union(accounts, scale_bits):
    spec = StatsSpec(FEATURES, classes=3, bins=4, ranges=((-100.0, 100.0), (0.0, 5e3)), scale_bits=scale_bits)
    parts = [(np.array(rows, dtype=np.float64), np.array(labels)) for rows, labels in accounts]

    stats = finish(spec, plain_total([local_sums(spec, x, y, who=f"account {i}") for i, (x, y) in enumerate(parts)]))

    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    assert stats.count == len(x)
    assert stats.label_counts.tolist() == np.bincount(y, minlength=3).tolist()
    for f, (lo, hi) in enumerate(spec.ranges):
        inner, _ = np.histogram(x[:, f], bins=4, range=(lo, hi))
        expected = [int((x[:, f] < lo).sum()), *inner.tolist(), int((x[:, f] > hi).sum())]
        assert stats.histograms[f].tolist() == expected
        column = [Fraction(v) for v in x[:, f].tolist()]
        mean = sum(column) / len(column)
        variance = sum((v - mean) ** 2 for v in column) / len(column)
        mean_sq = float(sum(v * v for v in column) / len(column))
        assert abs(Fraction(stats.mean[f]) - mean) <= mean_bound(scale_bits, abs(float(mean)))
        assert abs(Fraction(stats.variance[f]) - variance) <= variance_bound(scale_bits, abs(float(mean)), mean_sq)


def test_the_vector_layout_is_as_documented():
    spec = StatsSpec(FEATURES, classes=2, bins=1, ranges=((0.0, 1.0), (0.0, 1.0)), scale_bits=2)
    x = np.array([[0.25, 2.0], [0.5, -1.0]])

    v = local_sums(spec, x, np.array([1, 1]), who="account 'a'")

    # count | sum a, sum b (x 4) | sum of squares a, b (x 4) | labels 0, 1 | a: below, bin, above | b: ...
    assert v.tolist() == [2, 3, 4, 1, 20, 0, 2, 0, 2, 0, 1, 0, 1]
    assert spec.sections()["histogram"] == slice(7, 13)


def test_a_sum_that_could_wrap_is_refused_naming_the_feature_and_the_fix():
    spec = StatsSpec(("area",), scale_bits=30)

    with pytest.raises(DataError, match=r"account 'a': feature 'area': its sum of squares at scale 2\^30 .* lower statistics.scale_bits"):
        local_sums(spec, np.full((4, 1), 4254.0), who="account 'a'")

    assert local_sums(StatsSpec(("area",), scale_bits=16), np.full((4, 1), 4254.0), who="account 'a'")[0] == 4


@pytest.mark.parametrize(
    "features,labels,message",
    [
        (np.array([[1.0, np.nan]]), None, "account 'a': feature 'b' holds NaN or infinite values"),
        (np.ones((2, 3)), None, "statistics need a table of 2 feature columns"),
        (np.ones((2, 2)), np.array([0, 5]), "labels must be 2 integers in [0, 3)"),
        (np.ones((2, 2)), None, "statistics count labels, but no labels were given"),
    ],
)
def test_bad_rows_are_named(features, labels, message):
    spec = StatsSpec(FEATURES, classes=3)

    with pytest.raises(DataError) as info:
        local_sums(spec, features, labels, who="account 'a'")

    assert message in str(info.value)


def test_bad_specs_and_empty_totals():
    with pytest.raises(ConfigError, match="scale_bits"):
        StatsSpec(FEATURES, scale_bits=31)
    with pytest.raises(ConfigError, match="one \\(lo, hi\\) per feature"):
        StatsSpec(FEATURES, bins=3)
    with pytest.raises(DataError, match="no rows"):
        finish(StatsSpec(FEATURES), np.zeros(5, np.int64))


def test_a_constant_feature_has_variance_zero_and_a_safe_scale():
    spec = StatsSpec(("c",), scale_bits=16)

    stats = finish(spec, local_sums(spec, np.full((3, 1), 0.3), who="a"))

    # round(0.09 * 2^16) / 2^16 < (round(0.3 * 2^16) / 2^16)^2: quantised variance < 0, clamped
    assert stats.variance[0] == 0.0
    assert stats.std()[0] == 1.0
