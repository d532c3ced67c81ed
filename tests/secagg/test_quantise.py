import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedring.errors import ConfigError, IntegrityError, NonFiniteUpdate
from fedring.secagg.quantise import check_aggregate, check_no_wrap, dequantise, error_bound, quantise


def test_quantise_exact_values_and_clipped_count():
    # Prepare: f = 2 so q = round(w * clip(x) * 4)
    delta = np.array([0.5, -0.5, 3.0, -3.0, 0.3], dtype=np.float32)
    # Execute
    q, clipped = quantise(delta, weight=0.5, clip=2.0, frac_bits=2)
    # Assert: 0.5*0.5*4=1, -1, clip 3->2: 4, -4, 0.3*0.5*4=0.6->1
    assert q.tolist() == [1, 2**32 - 1, 4, 2**32 - 4, 1]
    assert q.dtype == np.uint32
    assert clipped == 2


def test_dequantise_reads_twos_complement():
    total = np.array([4, 2**32 - 4, 0, 2**20 - 1], dtype=np.uint32)
    out = dequantise(total, frac_bits=2)
    assert out.dtype == np.float32
    assert out.tolist() == [1.0, -1.0, 0.0, (2**20 - 1) / 4]


def test_check_no_wrap_bound():
    check_no_wrap(1000, 8.0, 24)  # 2^27 + 500 < 2^31
    check_no_wrap(1000, 7.9999, 28)  # 2147456803 + 500 < 2^31
    with pytest.raises(ConfigError, match="may wrap"):
        check_no_wrap(100_000, 7.9999, 28)  # 2147456803 + 50000 >= 2^31
    with pytest.raises(ConfigError, match="clip"):
        check_no_wrap(10, 256.0, 23)  # clip * 2^f = 2^31
    with pytest.raises(ConfigError, match="frac_bits"):
        check_no_wrap(10, 8.0, 31)


@pytest.mark.parametrize("kwargs", [dict(weight=1.5), dict(weight=-0.1), dict(clip=0.0), dict(clip=float("inf"))])
def test_quantise_rejects_bad_settings(kwargs):
    args = dict(weight=0.5, clip=1.0, frac_bits=8) | kwargs
    with pytest.raises(ConfigError):
        quantise(np.zeros(3, np.float32), **args)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 12), st.integers(8, 24), st.floats(0.01, 8.0), st.integers(0, 2**32 - 1))
def test_dequantised_mean_within_error_bound(n, f, clip, seed):
    # Prepare: n accounts with random normalised weights and updates, some clipped
    rng = np.random.default_rng(seed)  # test data only, never masks
    w = rng.uniform(0.1, 1.0, n)
    w = w / w.sum()
    ups = rng.normal(0, clip, (n, 64)).astype(np.float32)
    # Execute
    total = np.zeros(64, np.uint32)
    for i in range(n):
        total += quantise(ups[i], weight=float(w[i]), clip=clip, frac_bits=f)[0]
    got = dequantise(total, frac_bits=f).astype(np.float64)
    # Assert: within N 2^-(f+1) plus float32 rounding of the result
    exact = (w[:, None] * np.clip(ups.astype(np.float64), -clip, clip)).sum(0)
    assert np.abs(got - exact).max() <= error_bound(n, f) + clip * 2.0**-23


def test_numpy_scalars_are_accepted():
    q, clipped = quantise(np.array([8.0, -8.0], np.float32), weight=np.float32(0.25), clip=np.float64(4.0), frac_bits=np.int64(1))
    assert q.tolist() == [2, 2**32 - 2] and clipped == 2


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_update_is_refused_not_clipped(bad):
    # A diverged account's NaN used to become 0 and +inf the clip: the average moved silently.
    with pytest.raises(NonFiniteUpdate, match="1 NaN or infinite coordinate"):
        quantise(np.array([0.1, bad, 0.2], np.float32), weight=0.5, clip=4.0, frac_bits=8)


def test_check_aggregate_refuses_sums_clipped_updates_cannot_produce():
    # two accounts with weights 0.5 and clip 1 at f = 2 can sum to at most 4 + 1 per coordinate
    check_aggregate(np.array([5, 2**32 - 5, 0], np.uint32), clip=1.0, frac_bits=2, weight=1.0, accounts=2)
    with pytest.raises(IntegrityError, match="outside what 2 clipped updates can produce in 1 of 3"):
        check_aggregate(np.array([6, 0, 0], np.uint32), clip=1.0, frac_bits=2, weight=1.0, accounts=2)
