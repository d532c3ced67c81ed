import numpy as np
import pytest

from fedring.errors import ConfigError
from fedring.ml.partition import dirichlet, iid, partition, shards


def _labels(n: int = 2000, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 10, n)


@pytest.mark.parametrize(
    "scheme,kwargs",
    [("iid", {}), ("dirichlet", {"alpha": 0.3}), ("shards", {"classes_per_account": 2})],
)
def test_partitions_are_disjoint_and_cover_the_data(scheme, kwargs):
    labels = _labels()
    parts = partition(labels, 5, scheme=scheme, seed=7, **kwargs)
    joined = np.concatenate(parts)
    assert len(parts) == 5
    assert len(joined) == len(np.unique(joined))  # disjoint
    assert sorted(joined.tolist()) == list(range(len(labels)))  # cover


@pytest.mark.parametrize("scheme", ["iid", "dirichlet", "shards"])
def test_same_seed_same_split_and_other_seed_other_split(scheme):
    labels = _labels()
    a = partition(labels, 4, scheme=scheme, seed=3)
    b = partition(labels, 4, scheme=scheme, seed=3)
    c = partition(labels, 4, scheme=scheme, seed=4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def _skew(labels: np.ndarray, parts: list[np.ndarray]) -> float:
    """Mean total-variation distance between each account's label mix and the global one."""
    global_mix = np.bincount(labels, minlength=10) / len(labels)
    tv = [0.5 * np.abs(np.bincount(labels[p], minlength=10) / len(p) - global_mix).sum() for p in parts]
    return float(np.mean(tv))


def test_dirichlet_skew_grows_as_alpha_shrinks():
    labels = _labels(5000)
    skews = [_skew(labels, dirichlet(labels, 5, alpha=a, seed=0)) for a in (100.0, 1.0, 0.1)]
    assert skews[0] < skews[1] < skews[2]
    assert _skew(labels, iid(labels, 5, seed=0)) < skews[1]


@pytest.mark.parametrize("k", [1, 2, 3])
def test_shards_give_exactly_k_classes_per_account(k):
    labels = _labels()
    parts = shards(labels, 5, classes_per_account=k, seed=2)
    assert [len(np.unique(labels[p])) for p in parts] == [k] * 5


def test_iid_sizes_differ_by_at_most_one():
    sizes = [len(p) for p in iid(_labels(1003), 4, seed=0)]
    assert max(sizes) - min(sizes) <= 1 and sum(sizes) == 1003


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda l: partition(l, 3, scheme="zipf", seed=0), "partition.scheme 'zipf' is unknown"),
        (lambda l: dirichlet(l, 3, alpha=0.0, seed=0), "partition.alpha must be > 0"),
        (lambda l: iid(l[:5], 6, seed=0), "6 accounts but only 5 images"),
        (lambda l: shards(l, 3, classes_per_account=11, seed=0), "classes_per_account must be between 1 and 10"),
    ],
)
def test_bad_partition_requests_name_the_problem(call, message):
    with pytest.raises(ConfigError, match=message):
        call(_labels())
