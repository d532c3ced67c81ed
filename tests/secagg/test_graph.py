from collections import Counter

import pytest

from fedring.errors import ConfigError
from fedring.secagg.graph import neighbours, ring_order

SEED = bytes(range(32))


def roster(n):
    return [f"acc-{i:04d}" for i in range(n)]


def test_complete_graph_for_small_rosters():
    g = neighbours(["a", "b", "c"], degree=None, seed=SEED)
    assert g == {"a": frozenset("bc"), "b": frozenset("ac"), "c": frozenset("ab")}
    assert neighbours(["a", "b", "c"], degree=5, seed=SEED) == g


@pytest.mark.parametrize("n,k,degrees", [(10, 4, {4: 10}), (10, 3, {3: 10}), (11, 3, {3: 10, 4: 1}), (1000, 30, {30: 1000})])
def test_harary_graph_is_regular_symmetric_and_loop_free(n, k, degrees):
    g = neighbours(roster(n), degree=k, seed=SEED)
    assert Counter(len(v) for v in g.values()) == degrees
    assert all(a in g[b] for a in g for b in g[a])
    assert all(a not in g[a] for a in g)


def test_graph_and_rings_are_deterministic_from_the_seed():
    assert neighbours(roster(50), degree=6, seed=SEED) == neighbours(roster(50), degree=6, seed=SEED)
    assert neighbours(roster(50), degree=6, seed=SEED) != neighbours(roster(50), degree=6, seed=bytes(32))
    rings = ring_order(roster(10), rings=3, seed=SEED)
    assert [len(r) for r in rings] == [4, 3, 3]
    assert sorted(sum(rings, [])) == roster(10)
    assert rings == ring_order(roster(10), rings=3, seed=SEED)


@pytest.mark.parametrize("call", [
    lambda: neighbours(["b", "a"], degree=None, seed=SEED),
    lambda: neighbours(["a"], degree=None, seed=SEED),
    lambda: neighbours(roster(5), degree=0, seed=SEED),
    lambda: neighbours(roster(5), degree=2, seed=b"short"),
    lambda: ring_order(roster(5), rings=6, seed=SEED),
])
def test_bad_arguments_raise_config_error(call):
    with pytest.raises(ConfigError):
        call()


def test_round_seed_depends_on_run_round_and_keys():
    from fedring.secagg.graph import round_seed

    keys = {"a": bytes(32), "b": bytes([1]) * 32}
    s = round_seed("r", 1, keys)
    assert len(s) == 32 and s == round_seed("r", 1, dict(reversed(keys.items())))
    assert s != round_seed("r", 2, keys) and s != round_seed("q", 1, keys)
    assert s != round_seed("r", 1, {"a": bytes(32), "b": bytes([2]) * 32})
