import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedring.errors import NotEnoughShares, TooFewSurvivors
from fedring.secagg.graph import neighbours
from fedring.secagg.quantise import error_bound, quantise
from fedring.secagg.simulate import simulate
from fedring.secagg.unmask import missing_shares
from tests.secagg.uniformity import looks_uniform

CLIP, F, D = 2.0, 20, 32


def plaintext_sum(ups, weights, names):
    total_w = sum(weights.values())
    out = np.zeros(D, np.uint32)
    for n in names:
        out += quantise(ups[n], weight=weights[n] / total_w, clip=CLIP, frac_bits=F)[0]
    return out


@st.composite
def rounds(draw, complete: bool):
    n = draw(st.integers(3, 8))
    names = [f"acc-{i}" for i in range(n)]
    degree = None if complete else draw(st.integers(2, n - 2)) if n > 3 else None
    holders = n if degree is None else degree + 1
    t = draw(st.integers(max(2, holders // 2 + 1), holders))
    budget = n - t if complete else n - 2
    dropped = draw(st.lists(st.sampled_from(names), max_size=budget, unique=True))
    split = draw(st.integers(0, len(dropped)))
    rings = draw(st.integers(1, 3))
    data_seed = draw(st.integers(0, 2**32 - 1))
    return names, degree, t, set(dropped[:split]), set(dropped[split:]), rings, data_seed


def data(names, data_seed):
    rng = np.random.default_rng(data_seed)  # test data only; masks come from the CSPRNG
    ups = {n: rng.normal(0, 1, D).astype(np.float32) for n in names}
    weights = {n: float(rng.integers(1, 100)) for n in names}
    return ups, weights


@settings(max_examples=20, deadline=None)
@given(rounds(complete=True))
def test_unmasked_sum_equals_plaintext_quantised_sum(case):
    # Prepare: complete graph, up to n - t dropouts, before masking or in the ring
    names, degree, t, before, in_ring, rings, data_seed = case
    ups, weights = data(names, data_seed)
    # Execute
    res = simulate(ups, weights=weights, threshold=t, clip=CLIP, frac_bits=F, dropped_before_mask=before, dropped_in_ring=in_ring, rings=rings, degree=degree)
    # Assert: bit for bit, and the mean within the documented error
    assert res.dropped == sorted(before | in_ring)
    assert np.array_equal(res.quantised_sum, plaintext_sum(ups, weights, res.survivors))
    total_w = sum(weights.values())
    exact = sum(np.clip(ups[n].astype(np.float64), -CLIP, CLIP) * weights[n] / total_w for n in res.survivors) / res.survivor_weight
    assert np.abs(res.mean - exact).max() <= error_bound(len(names), F) / res.survivor_weight + CLIP * 2.0**-22


@settings(max_examples=15, deadline=None)
@given(rounds(complete=False))
def test_regular_graph_sum_is_exact_or_names_who_lacks_shares(case):
    names, degree, t, before, in_ring, rings, data_seed = case
    ups, weights = data(names, data_seed)
    seed = data_seed.to_bytes(16, "big")
    graph = neighbours(names, degree=degree, seed=seed)
    survivors = set(names) - before - in_ring
    # who would lack shares: every survivor reveals for each owner it holds a share of
    would_reveal = {s: {o: b"" for o in names if s in graph[o] | {o}} for s in survivors}
    short = missing_shares(would_reveal, owners=set(names), neighbours=graph, threshold=t)
    kwargs = dict(weights=weights, threshold=t, clip=CLIP, frac_bits=F, dropped_before_mask=before, dropped_in_ring=in_ring, rings=rings, degree=degree, seed=seed)
    if len(survivors) < t or short:
        with pytest.raises((NotEnoughShares, TooFewSurvivors)):
            simulate(ups, **kwargs)
        return
    res = simulate(ups, **kwargs)
    assert np.array_equal(res.quantised_sum, plaintext_sum(ups, weights, res.survivors))


def test_account_that_never_shared_is_left_out():
    names = [f"acc-{i}" for i in range(6)]
    ups, weights = data(names, 7)
    res = simulate(ups, weights=weights, threshold=4, clip=CLIP, frac_bits=F, dropped_before_share={"acc-2"}, dropped_in_ring={"acc-4"}, rings=2)
    assert res.absent == ["acc-2"] and res.dropped == ["acc-4"]
    assert np.array_equal(res.quantised_sum, plaintext_sum(ups, weights, res.survivors))


def test_every_masked_vector_and_partial_sum_looks_uniform_for_zero_updates():
    # Prepare: all-zero updates, two rings, one hop failing
    names = [f"acc-{i}" for i in range(6)]
    ups = {n: np.zeros(4096, np.float32) for n in names}
    seen = []
    # Execute
    res = simulate(ups, weights=dict.fromkeys(names, 1.0), threshold=4, clip=CLIP, frac_bits=F, rings=2, dropped_in_ring={"acc-3"}, observe=lambda stage, who, v: seen.append((stage, who, v.copy())))
    # Assert
    assert sorted(s for s, _, _ in seen) == ["mask"] * 6 + ["ring"] * 5
    for stage, who, v in seen:
        assert looks_uniform(v), (stage, who)
    assert not res.quantised_sum.any()


def test_not_enough_shares_is_raised_with_names():
    names = [f"acc-{i}" for i in range(6)]
    ups, weights = data(names, 1)
    with pytest.raises(NotEnoughShares, match="no share from"):
        simulate(ups, weights=weights, threshold=3, degree=2, seed=bytes(16), clip=CLIP, frac_bits=F, dropped_in_ring={"acc-0", "acc-1", "acc-2"})


def test_updates_from_a_callable():
    names = [f"acc-{i}" for i in range(4)]
    ups, weights = data(names, 3)
    res = simulate(ups.__getitem__, roster=names, weights=weights, threshold=3, clip=CLIP, frac_bits=F)
    assert np.array_equal(res.quantised_sum, plaintext_sum(ups, weights, names))
    assert set(res.bytes_sent) == set(names) and min(res.bytes_sent.values()) > 4 * D
