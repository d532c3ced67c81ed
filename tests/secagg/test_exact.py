"""Exact integer sums through uint32 limbs: equal to Python's sum, also through the real masked ring."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedring.secagg.exact import LIMBS, MAX_ABS, MAX_ACCOUNTS, from_words, plain_total, to_words
from fedring.errors import ConfigError, IntegrityError
from fedring.secagg import make_shares, mask, neighbours, new_round_secrets, public_key_bytes, reveal, unmask
from fedring.secagg.ring import add_into

values = st.integers(-(MAX_ABS - 1), MAX_ABS - 1)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 8).flatmap(lambda d: st.lists(st.lists(values, min_size=d, max_size=d), min_size=1, max_size=20)))
def test_limb_sums_equal_the_integer_sum(accounts):
    vectors = [np.array(v, dtype=np.int64) for v in accounts]

    total = plain_total(vectors)

    assert total.dtype == np.int64
    assert total.tolist() == [sum(col) for col in zip(*accounts, strict=True)]


@pytest.mark.parametrize("value", [MAX_ABS - 1, -(MAX_ABS - 1), 0, 1, -1])
def test_the_bound_holds_at_the_largest_roster(value):
    """2^16 accounts at the extreme value: each word sum is words * N, which must not wrap."""
    words = to_words(np.array([value], dtype=np.int64)).astype(np.uint64)

    total = (words * MAX_ACCOUNTS).astype(np.uint32)

    assert (words * MAX_ACCOUNTS).max() < 2**32
    assert from_words(total, MAX_ACCOUNTS).tolist() == [value * MAX_ACCOUNTS]


def test_values_beyond_the_bound_and_impossible_totals_are_refused():
    with pytest.raises(ConfigError, match=r"evaluation sums: entry 1 is 140737488355328, beyond the exact-sum bound"):
        to_words(np.array([0, MAX_ABS]), "evaluation sums")
    with pytest.raises(IntegrityError, match="exceeds what 2 accounts can produce"):
        from_words(np.array([0, 0, 2 * 65535 + 1, 0], dtype=np.uint32), 2)
    with pytest.raises(ConfigError):
        from_words(np.zeros(LIMBS, np.uint32), MAX_ACCOUNTS + 1)
    with pytest.raises(ConfigError):
        plain_total([np.zeros(2, np.int64), np.zeros(3, np.int64)])


@pytest.mark.parametrize("dropped", [set(), {"c"}])
def test_exact_words_survive_the_real_masked_ring(dropped):
    """Mask each account's words as the round does, add along the ring, unmask: the exact total."""
    rng = np.random.default_rng(5)
    roster = ["a", "b", "c", "d"]
    vectors = {n: rng.integers(-(2**40), 2**40, size=7) for n in roster}
    secrets = {n: new_round_secrets() for n in roster}
    public = {n: public_key_bytes(secrets[n]) for n in roster}
    graph = neighbours(roster, degree=None, seed=b"\0" * 32)
    held: dict[str, dict[str, bytes]] = {n: {} for n in roster}
    for n in roster:
        for holder, blob in make_shares(secrets[n], me=n, holders=roster, threshold=3, run="r", rnd=1, roster=roster).items():
            held[holder][n] = blob
    survivors = [n for n in roster if n not in dropped]
    partial = None
    for n in survivors:
        y = mask(to_words(vectors[n]), me=n, secrets=secrets[n], peers_public=public, neighbours=graph[n], run="r", rnd=1)
        assert not np.array_equal(y, to_words(vectors[n]))
        partial = add_into(partial, y)
    revealed = {n: reveal(held[n], me=n, survivors=survivors, dropped=sorted(dropped), run="r", rnd=1) for n in survivors}

    total = unmask([partial], revealed=revealed, roster=roster, survivors=survivors, dropped=sorted(dropped),
                   public_keys=public, neighbours=graph, threshold=3, run="r", rnd=1)

    assert from_words(total, len(survivors)).tolist() == sum(vectors[n] for n in survivors).tolist()
