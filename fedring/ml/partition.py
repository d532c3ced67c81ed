"""Split a labelled data set across accounts, deterministically from a seed.

- ``iid``: a seeded shuffle cut into near-equal parts.
- ``dirichlet``: label skew; for every class, the share each account receives is drawn
  from Dir(alpha) (Hsu et al. 2019, arXiv:1909.06335). Smaller alpha, more skew.
- ``shards``: each account holds exactly ``k`` classes (McMahan et al. 2017's
  pathological non-IID split, made exact): classes are dealt cyclically from a seeded
  permutation and each class is cut evenly among the accounts that hold it. With
  ``n * k < classes`` some classes go unused.

Every function returns one index array per account; the arrays are disjoint.
Partitioning is public bookkeeping, not a secret, so numpy's seeded generator is right here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fedring.errors import ConfigError

SCHEMES = ("iid", "dirichlet", "shards")
MIN_DIRICHLET_SIZE = 10
_MAX_DIRICHLET_TRIES = 100


def _check(labels: np.ndarray, n_accounts: int) -> None:
    if n_accounts < 1:
        raise ConfigError("accounts: at least one account is needed")
    if n_accounts > len(labels):
        raise ConfigError(f"accounts: {n_accounts} accounts but only {len(labels)} images to split")


def iid(labels: np.ndarray, n_accounts: int, *, seed: int) -> list[np.ndarray]:
    _check(labels, n_accounts)
    order = np.random.default_rng(seed).permutation(len(labels))
    return [np.sort(part) for part in np.array_split(order, n_accounts)]


def dirichlet(labels: np.ndarray, n_accounts: int, *, alpha: float, seed: int) -> list[np.ndarray]:
    if not alpha > 0:
        raise ConfigError(f"partition.alpha must be > 0, got {alpha}")
    _check(labels, n_accounts)
    rng = np.random.default_rng(seed)
    min_size = min(MIN_DIRICHLET_SIZE, len(labels) // n_accounts)
    for _ in range(_MAX_DIRICHLET_TRIES):
        parts: list[list[np.ndarray]] = [[] for _ in range(n_accounts)]
        for cls in np.unique(labels):
            idx = rng.permutation(np.flatnonzero(labels == cls))
            shares = rng.dirichlet(np.full(n_accounts, alpha))
            cuts = (np.cumsum(shares)[:-1] * len(idx)).astype(int)
            for account, piece in enumerate(np.split(idx, cuts)):
                parts[account].append(piece)
        result = [np.sort(np.concatenate(p)) for p in parts]
        if min(len(p) for p in result) >= min_size:
            return result
    raise ConfigError(
        f"partition.alpha={alpha} with {n_accounts} accounts leaves some account with fewer than "
        f"{min_size} images after {_MAX_DIRICHLET_TRIES} draws; raise alpha or use fewer accounts"
    )


def shards(labels: np.ndarray, n_accounts: int, *, classes_per_account: int, seed: int) -> list[np.ndarray]:
    _check(labels, n_accounts)
    classes = np.unique(labels)
    k = classes_per_account
    if not 1 <= k <= len(classes):
        raise ConfigError(f"partition.classes_per_account must be between 1 and {len(classes)}, got {k}")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(classes)
    held = [[perm[(a * k + j) % len(classes)] for j in range(k)] for a in range(n_accounts)]
    holders = {int(c): [a for a in range(n_accounts) if c in held[a]] for c in classes}
    parts: list[list[np.ndarray]] = [[] for _ in range(n_accounts)]
    for cls, owners in holders.items():
        if not owners:
            continue
        idx = rng.permutation(np.flatnonzero(labels == cls))
        if len(idx) < len(owners):
            raise ConfigError(f"class {cls} has {len(idx)} images for {len(owners)} accounts")
        for account, piece in zip(owners, np.array_split(idx, len(owners)), strict=True):
            parts[account].append(piece)
    return [np.sort(np.concatenate(p)) for p in parts]


def partition(
    labels: np.ndarray,
    n_accounts: int,
    *,
    scheme: str,
    seed: int,
    alpha: float = 0.5,
    classes_per_account: int = 2,
) -> list[np.ndarray]:
    """Dispatch on ``scheme``; unknown schemes name the valid ones."""
    schemes: dict[str, Callable[[], list[np.ndarray]]] = {
        "iid": lambda: iid(labels, n_accounts, seed=seed),
        "dirichlet": lambda: dirichlet(labels, n_accounts, alpha=alpha, seed=seed),
        "shards": lambda: shards(labels, n_accounts, classes_per_account=classes_per_account, seed=seed),
    }
    if scheme not in schemes:
        raise ConfigError(f"partition.scheme {scheme!r} is unknown; choose one of {', '.join(SCHEMES)}")
    return schemes[scheme]()


def label_histogram(labels: np.ndarray, num_classes: int = 10) -> list[int]:
    return np.bincount(labels, minlength=num_classes).astype(int).tolist()
