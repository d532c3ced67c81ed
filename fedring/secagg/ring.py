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
order and the dropped set, so any party can check the routing; :func:`ring_route`
lists every step of one ring (hops, re-seals, relays) for a given set of failed hops.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from fedring.errors import ConfigError, ProtocolError
from fedring.secagg.graph import ring_order

__all__ = ["add_into", "RingPlan", "HOST", "Hop", "Reseal", "Relay", "ring_route"]

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


@dataclass(frozen=True)
class Hop:
    """``account`` adds its masked vector to the partial sum from ``came_from`` and seals it to ``to``."""

    account: str
    to: str
    came_from: str | None


@dataclass(frozen=True)
class Reseal:
    """``account`` seals its kept partial sum again, to ``to``, because the hop it sealed to failed."""

    account: str
    to: str
    came_from: str | None


@dataclass(frozen=True)
class Relay:
    """The host moves ``sender``'s sealed partial sum to ``recipient`` (a hop, or the host)."""

    sender: str
    recipient: str


def ring_route(live: Sequence[str], *, host: str, failed: Iterable[str] = ()) -> list[Hop | Reseal | Relay]:
    """Every step of one ring, in order, when the hops in ``failed`` fail.

    ``live`` are the ring's hops that contributed, in ring order. Each hop seals to the
    next live hop (the last one to ``host``); when a hop fails, the previous hop that
    did not fail re-seals its kept partial sum to the hop after the failed one, and the
    host relays it there. A step depends only on the failures of earlier hops, so a
    caller that learns failures one hop at a time can run the steps as they come: the
    list for a larger ``failed`` set starts with the same steps up to the new failure.
    """
    gone = set(failed)
    steps: list[Hop | Reseal | Relay] = []
    prev: str | None = None  # the last hop that did not fail
    prev_from: str | None = None  # whose partial sum prev received
    prev_to: str | None = None  # whom prev sealed to
    for i, hop in enumerate(live):
        target = live[i + 1] if i + 1 < len(live) else host
        if prev is not None:
            if prev_to != hop:  # the hop prev sealed to failed: prev re-seals to this one
                steps.append(Reseal(prev, to=hop, came_from=prev_from))
            steps.append(Relay(prev, hop))
        steps.append(Hop(hop, to=target, came_from=prev))
        if hop not in gone:
            prev, prev_from, prev_to = hop, prev, target
    if prev is not None:
        if prev_to != host:
            steps.append(Reseal(prev, to=host, came_from=prev_from))
        steps.append(Relay(prev, host))
    return steps
