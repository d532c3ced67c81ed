"""The public plan of one secure round, computed identically by the host and every client."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property

from fedring.config import FederationConfig
from fedring.errors import IntegrityError, ProtocolError
from fedring.layout import Round, round_label
from fedring.secagg import RingPlan, neighbours, round_seed


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

    The graph and the ring order come from a public seed that no party picks alone:
    SHA-256 over run, round and every advertised public key (``fedring.secagg.round_seed``),
    so they are known once the round's advertisements are (``seeded``), and differ from
    round to round. Graph and rings are over the round's *members*: the accounts whose
    advertisement the round accepted.

    ``purpose`` says what the secure sum is for: ``""`` a training round (a quantised
    model update and its exact section), ``"eval"`` the federated evaluation of round
    ``rnd``'s new model, ``"stats"`` federated statistics (no model). Keys and every signed
    or sealed context name the sum by its ``label`` (``fedring.layout.round_label``).
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
    members: tuple[str, ...] = ()
    seed: bytes = b""
    purpose: str = ""

    @classmethod
    def create(cls, cfg: FederationConfig, roster: dict[str, int], rnd: int, purpose: str = "") -> "RoundPlan":
        names = tuple(sorted(roster))
        round_label(rnd, purpose)  # refuses an unknown purpose
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
            purpose=purpose,
        )

    @property
    def label(self) -> Round:
        """The sum's name in keys and contexts: ``rnd`` for training, ``"0003-eval"`` for a sub-sum."""
        return round_label(self.rnd, self.purpose)

    @property
    def has_model(self) -> bool:
        """Whether the sum is over a global model (training, evaluation) or over data alone (statistics)."""
        return self.purpose != "stats"

    @property
    def model_round(self) -> int:
        """The round whose global model the sum starts from: r - 1 when training round r, r when evaluating it."""
        return self.rnd - 1 if self.purpose == "" else self.rnd

    def seeded(self, public_keys: Mapping[str, bytes]) -> "RoundPlan":
        """This plan once the round's advertised public keys are known: its members, graph and rings."""
        unknown = sorted(set(public_keys) - set(self.roster))
        if unknown:
            raise IntegrityError(f"round {self.label}: advertisements from accounts not in the roster: {', '.join(unknown)}")
        return replace(self, members=tuple(sorted(public_keys)), seed=round_seed(self.run, self.label, public_keys))

    @property
    def signatures_needed(self) -> int:
        """Signatures over one survivor set before anyone reveals: t, and a strict majority of the members.

        Each honest member signs one survivor set per round, so two different sets can
        never both gather a majority (Bonawitz et al. 2017, section 4.3).
        """
        return max(self.threshold, len(self.members) // 2 + 1)

    def weight(self, account: str) -> float:
        """p_i = n_i / sum n over the roster."""
        return self.samples[self.roster.index(account)] / sum(self.samples)

    def _require_seed(self) -> None:
        if not self.seed:
            raise ProtocolError(f"round {self.label}: the graph and rings are known only after advertise (plan.seeded)")

    @cached_property
    def graph(self) -> dict[str, frozenset[str]]:
        self._require_seed()
        return neighbours(list(self.members), degree=self.degree, seed=self.seed)

    @cached_property
    def ring_plan(self) -> RingPlan:
        self._require_seed()
        return RingPlan.from_roster(list(self.members), rings=min(self.rings, len(self.members)), seed=self.seed)

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
    plan = RoundPlan.create(cfg, dict.fromkeys(names, 1), 1).seeded(dict.fromkeys(names, bytes(32)))
    check_threshold(plan.threshold, min(len(plan.holders(n)) for n in names))
    check_no_wrap(len(names), plan.clip, plan.frac_bits)
