"""The ring: accounts add their masked vectors to a running partial sum in turn.

Instead of every account sending y_i to the host (Bonawitz et al. 2017), the
accounts of a ring pass one partial sum along: hop k opens S_{k-1}, computes
S_k = S_{k-1} + y_k mod 2^32 and seals S_k to the next hop; the last hop seals
to the host. Each S_k is uniformly random to its reader (it contains the
self masks of hops 1..k). Several rings can run in parallel (fewer sequential
hops, one sum per ring at the host); the host keeps one vector per ring.

Bypass. When hop k fails after its retries, the host marks k dropped; the last
live hop before k is asked to re-seal its partial sum to the first live hop
after k (or to the host). :class:`RingPlan` computes both from the public ring
order and the dropped set, so any party can check the routing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from fedring.errors import ConfigError, ProtocolError
from fedring.secagg.graph import ring_order

__all__ = ["add_into", "RingPlan", "HOST"]

HOST = None  # next_hop returns None when the partial sum goes to the host


def add_into(partial: np.ndarray | None, y: np.ndarray) -> np.ndarray:
    """S_k = S_{k-1} + y_k mod 2^32, in place in ``partial``; the first hop passes None."""
    if y.dtype != np.uint32 or y.ndim != 1:
        raise ConfigError("y must be a 1-D uint32 array")
    if partial is None:
        return y.copy()
    if partial.dtype != np.uint32 or partial.shape != y.shape:
        raise ProtocolError(
            f"partial sum of shape {partial.shape} {partial.dtype} does not match y of shape {y.shape} uint32"
        )
    np.add(partial, y, out=partial)
    return partial


@dataclass(frozen=True)
class RingPlan:
    """The rings of one round: ``rings[r]`` lists the hops of ring r in order."""

    rings: tuple[tuple[str, ...], ...]

    @classmethod
    def from_roster(cls, roster: Sequence[str], *, rings: int, seed: bytes) -> "RingPlan":
        return cls(tuple(tuple(r) for r in ring_order(roster, rings=rings, seed=seed)))

    def ring_of(self, account: str) -> int:
        for r, hops in enumerate(self.rings):
            if account in hops:
                return r
        raise ConfigError(f"{account!r} is in no ring")

    def _hops(self, ring: int) -> tuple[str, ...]:
        if not 0 <= ring < len(self.rings):
            raise ConfigError(f"ring must be in [0, {len(self.rings)}), got {ring!r}")
        return self.rings[ring]

    def next_hop(self, ring: int, after: str | None, dropped: Iterable[str] = ()) -> str | None:
        """First live hop after ``after`` (None: from the start); None means the host."""
        hops, gone = self._hops(ring), set(dropped)
        start = 0 if after is None else hops.index(after) + 1 if after in hops else -1
        if start < 0:
            raise ConfigError(f"{after!r} is not in ring {ring}")
        return next((h for h in hops[start:] if h not in gone), HOST)

    def previous_hop(self, ring: int, before: str, dropped: Iterable[str] = ()) -> str | None:
        """Last live hop before ``before``, whose partial sum must be re-routed; None if none (start empty)."""
        hops, gone = self._hops(ring), set(dropped)
        if before not in hops:
            raise ConfigError(f"{before!r} is not in ring {ring}")
        return next((h for h in reversed(hops[: hops.index(before)]) if h not in gone), None)

    def live(self, ring: int, dropped: Iterable[str] = ()) -> list[str]:
        """The hops whose y ends up in this ring's sum."""
        gone = set(dropped)
        return [h for h in self._hops(ring) if h not in gone]
