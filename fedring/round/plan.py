"""The public plan of one secure round, computed identically by the host and every client."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

from fedring.config import FederationConfig
from fedring.secagg import RingPlan, neighbours


def _default_threshold(n: int, degree: int | None) -> int:
    """A strict majority of each account's holders (its neighbours and itself).

    Shamir with t above half the holders means no two disjoint groups could each
    reconstruct, which is what the reveal rule relies on (Bell et al. 2020).
    """
    holders = n if degree is None or degree >= n - 1 else degree + 1
    return max(2, holders // 2 + 1) if holders >= 2 else 1


@dataclass(frozen=True)
class RoundPlan:
    """Roster, public weights, threshold, neighbour graph and rings of round ``rnd``.

    The seed of the graph and the ring order is public and changes every round
    (SHA-256 of run and round), so the ring order differs from round to round.
    """

    run: str
    rnd: int
    roster: tuple[str, ...]
    samples: tuple[int, ...]
    threshold: int
    degree: int | None
    rings: int
    clip: float
    frac_bits: int

    @classmethod
    def create(cls, cfg: FederationConfig, roster: dict[str, int], rnd: int) -> "RoundPlan":
        names = tuple(sorted(roster))
        return cls(
            run=cfg.run,
            rnd=rnd,
            roster=names,
            samples=tuple(roster[n] for n in names),
            threshold=cfg.secagg.threshold or _default_threshold(len(names), cfg.secagg.degree),
            degree=cfg.secagg.degree,
            rings=min(cfg.secagg.rings, len(names)),
            clip=cfg.secagg.clip,
            frac_bits=cfg.secagg.frac_bits,
        )

    @property
    def seed(self) -> bytes:
        return hashlib.sha256(f"fedring round plan/{self.run}/{self.rnd}".encode()).digest()

    def weight(self, account: str) -> float:
        """p_i = n_i / sum n over the roster."""
        return self.samples[self.roster.index(account)] / sum(self.samples)

    @cached_property
    def graph(self) -> dict[str, frozenset[str]]:
        return neighbours(list(self.roster), degree=self.degree, seed=self.seed)

    @cached_property
    def ring_plan(self) -> RingPlan:
        return RingPlan.from_roster(list(self.roster), rings=self.rings, seed=self.seed)

    def holders(self, account: str) -> list[str]:
        """Who holds shares of ``account``'s secrets: its neighbours and itself."""
        return sorted(self.graph[account] | {account})


def check_plan(cfg: FederationConfig) -> None:
    """Refuse secure-aggregation settings that cannot work, before anything runs."""
    from fedring.errors import ConfigError
    from fedring.secagg import check_no_wrap, check_threshold

    names = sorted(a.name for a in cfg.accounts)
    if len(names) < 2:
        raise ConfigError("secure aggregation needs at least 2 accounts (or pass --plaintext)")
    plan = RoundPlan.create(cfg, dict.fromkeys(names, 1), 1)
    check_threshold(plan.threshold, min(len(plan.holders(n)) for n in names))
    check_no_wrap(len(names), plan.clip, plan.frac_bits)
