"""Who masks with whom, and in which order the ring runs.

With n accounts, pairwise masks with everyone cost O(n) key agreements and PRG
expansions per account. Bell et al. 2020 ("Secure Single-Server Aggregation
with (Poly)Logarithmic Overhead", SecAgg+, https://eprint.iacr.org/2020/704)
replace the complete graph by a random k-regular graph: each account masks
with, and shares its secrets among, its k neighbours only. Like Flower's
SecAgg+ we use a Harary graph (a circulant) over a seeded random permutation.

Both the neighbour graph and the ring order are public and deterministic from
a public seed: every party recomputes them. Use :func:`round_seed` (a hash of
run, round and all advertised public keys) so that the host cannot choose a
graph that isolates an account among colluders. The permutation sorts names by SHA-256(label | seed | name); it needs
no random-number generator at all.

Notes
-----
Harary graph H(k, n) over positions 0..n-1 of the permutation: each position is
joined to the k//2 positions on either side. For odd k and even n each position
is also joined to the opposite one (i + n/2): exactly k-regular. For odd k and
odd n, n*k is odd so no k-regular graph exists; positions i and i + (n+1)/2 are
joined for i = 0..(n-1)/2, which gives every account degree k except the one at
position 0, which gets k + 1 (near-regular).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from fedring.errors import ConfigError
from fedring.secagg.keys import context_bytes

__all__ = ["neighbours", "ring_order", "seeded_permutation", "round_seed"]


def _check_roster(roster: Sequence[str]) -> list[str]:
    names = list(roster)
    if len(names) < 2:
        raise ConfigError(f"roster must name at least 2 accounts, got {len(names)}")
    if names != sorted(set(names)):
        raise ConfigError("roster must be sorted and free of duplicates")
    return names


def seeded_permutation(names: Sequence[str], *, seed: bytes, label: str) -> list[str]:
    """A permutation of ``names`` determined by (seed, label) alone."""
    if not isinstance(seed, (bytes, bytearray)) or len(seed) < 16:
        raise ConfigError("seed must be at least 16 bytes")
    prefix = context_bytes(label) + bytes(seed)
    return sorted(names, key=lambda n: hashlib.sha256(prefix + context_bytes(n)).digest())


def round_seed(run: str, rnd: int | str, public_keys: Mapping[str, bytes]) -> bytes:
    """A public per-round seed nobody picks alone: SHA-256 over run, round and every
    advertised public key (computable by all once the advertise stage is over)."""
    h = hashlib.sha256(b"fedring/secagg/round-seed/v1" + context_bytes(run, rnd))
    for name in sorted(public_keys):
        h.update(context_bytes(name) + bytes(public_keys[name]))
    return h.digest()


def neighbours(roster: Sequence[str], *, degree: int | None, seed: bytes) -> dict[str, frozenset[str]]:
    """Each account's neighbours (never itself): complete when degree is None or >= n-1."""
    names = _check_roster(roster)
    n = len(names)
    if degree is None or degree >= n - 1:
        everyone = frozenset(names)
        return {a: everyone - {a} for a in names}
    if not isinstance(degree, int) or degree < 1:
        raise ConfigError(f"degree must be None or an integer >= 1, got {degree!r}")
    order = seeded_permutation(names, seed=seed, label="graph")
    adj: list[set[int]] = [set() for _ in range(n)]

    def join(i: int, j: int) -> None:
        i, j = i % n, j % n
        adj[i].add(j)
        adj[j].add(i)

    for i in range(n):
        for step in range(1, degree // 2 + 1):
            join(i, i + step)
    if degree % 2 == 1:
        if n % 2 == 0:
            for i in range(n // 2):
                join(i, i + n // 2)
        else:
            for i in range((n - 1) // 2 + 1):
                join(i, i + (n + 1) // 2)
    return {order[i]: frozenset(order[j] for j in adj[i]) for i in range(n)}


def ring_order(roster: Sequence[str], *, rings: int, seed: bytes) -> list[list[str]]:
    """A seeded permutation of the roster cut into ``rings`` rings of near-equal length."""
    names = _check_roster(roster)
    if not isinstance(rings, int) or not 1 <= rings <= len(names):
        raise ConfigError(f"rings must be an integer in [1, {len(names)}], got {rings!r}")
    order = seeded_permutation(names, seed=seed, label="ring")
    q, r = divmod(len(order), rings)
    out, start = [], 0
    for k in range(rings):
        stop = start + q + (1 if k < r else 0)
        out.append(order[start:stop])
        start = stop
    return out
