"""Evaluation sums as exact integer vectors: counts exact, reals within the stated bound."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedring.secagg.exact import plain_total
from fedring.errors import ConfigError
from fedring.workloads import Sums
from fedring.workloads.sums import decode, encode, error_bound, fields

METRICS = {"tp": "count", "brier": "real"}
one = st.builds(
    lambda loss, examples, tp, brier: Sums(loss, examples // 2, examples, {"tp": tp, "brier": brier}),
    st.floats(0, 1e6), st.integers(0, 10**6), st.integers(0, 10**6), st.floats(-1e5, 1e5),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(one, min_size=1, max_size=12))
def test_totals_equal_the_plaintext_sums(accounts):
    total = decode(plain_total([encode(s, METRICS) for s in accounts]), METRICS)

    assert total.examples == sum(s.examples for s in accounts)
    assert total.correct == sum(s.correct for s in accounts)
    assert total.extra["tp"] == sum(s.extra["tp"] for s in accounts)
    bound = error_bound(len(accounts))
    assert abs(total.loss_sum - sum(s.loss_sum for s in accounts)) <= bound + 1e-9 * total.loss_sum
    assert abs(total.extra["brier"] - sum(s.extra["brier"] for s in accounts)) <= bound + 1e-9 * 12e5


def test_the_layout_is_core_fields_then_metrics_by_name():
    assert fields(METRICS) == [("examples", "count"), ("correct", "count"), ("loss_sum", "real"),
                               ("brier", "real"), ("tp", "count")]
    assert encode(Sums(1.5, 3, 4, {"tp": 2, "brier": -0.25}), METRICS).tolist() == [4, 3, 1.5 * 2**20, -0.25 * 2**20, 2]


def test_a_real_sum_beyond_the_bound_is_refused():
    with pytest.raises(ConfigError, match="evaluation sums: entry 2"):
        encode(Sums(2.0**28, 0, 1), {})
