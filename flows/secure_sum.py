"""The secure sum as Prefect steps, for a training round and for the sums without training.

advertise (clients) → relay → share keys (clients) → relay → contribute (clients) → ring
hops (clients, in ring order, routed by ``fedring.secagg.ring_route``) → consistency
check (survivors sign the survivor set) → reveal (survivors). What each account
contributes, and what the host makes of the total, depends on the plan's purpose:
a training round (``flows/secure_round.py``), the federated evaluation of its new model
(``federated_evaluation``), federated statistics (``statistics_sum``). Each sum has its
own label, so its objects, records and signed contexts never mix with another's.

An account that is unavailable or refuses a stage is dropped for the sum (a declared
dropout); the sum goes on while at least ``threshold`` accounts remain, else it fails
with TooFewSurvivors and nothing is committed. Decisions are recorded before the sum
acts on them, so a rerun replays them and runs only what never finished.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from prefect import get_run_logger
from prefect.utilities.annotations import quote

from fedring.config import FederationConfig
from fedring.layout import Stage, hop_record_name
from fedring.round.party import Host
from fedring.round.plan import RoundPlan
from fedring.secagg import Hop, Relay, ring_route
from flows.client import (
    client_advertise,
    client_consistency,
    client_contribute,
    client_reveal,
    client_ring_hop,
    client_share_keys,
)
from flows.dispatch import Mode, RecordBook, run_stage, run_step
from flows.graph import step
from flows.round_tail import StageClock, require_survivors
from tasks.advertise import relay_advertisements
from tasks.consistency import collect_signatures
from tasks.model import broadcast
from tasks.ring import relay_partial
from tasks.share_keys import relay_shares
from tasks.unmask import unmask_evaluation, unmask_statistics


def _ok(outcomes: dict[str, dict]) -> list[str]:
    return sorted(a for a, o in outcomes.items() if o["ok"])


@dataclass(frozen=True)
class Summed:
    """Who took part in a secure sum, and how each client stage ended."""

    seeded: RoundPlan
    advertised: list[str]
    survivors: list[str]
    dropped: list[str]
    last_hops: list[str]
    revealers: list[str]
    outcomes: dict[str, dict[str, dict]]  # stage -> account -> {"ok", "result", "error"}

    @property
    def who(self) -> dict[str, list[str]]:
        """What the host's unmask needs to know about the sum's participants."""
        return {"last_hops": self.last_hops, "survivors": self.survivors, "dropped": self.dropped,
                "revealers": self.revealers, "advertised": self.advertised}

    def reused(self) -> dict[str, list[str]]:
        """Per stage, the accounts that adopted an earlier attempt's output."""
        return {s: sorted(a for a, o in out.items() if o["result"].get("reused")) for s, out in self.outcomes.items()}


def secure_sum(cfg: FederationConfig, plan: RoundPlan, roster: dict[str, int], host: Host, dispatch: Mode,
               clock: StageClock, *, prefix: str = "") -> Summed:
    """Run the clients' stages of one secure sum, up to the reveal; ``prefix`` names its laps (``eval ``)."""
    accounts = list(plan.roster)
    book = RecordBook(host.store, cfg.run, plan.label)
    common = {"cfg": cfg, "roster": roster, "rnd": plan.rnd, "purpose": plan.purpose}
    stage = {"mode": dispatch, "records": book, "need": plan.threshold}

    advertised_out = run_stage(client_advertise, accounts, stage=Stage.ADVERTISE, **stage, **common)
    advertised = _ok(advertised_out)
    seeded = step(relay_advertisements, quote(host), plan, advertised)
    clock.lap(prefix + Stage.ADVERTISE)
    # From here on a recorded decision must leave enough survivors to sign the survivor set,
    # or every resume would replay it into a sum that can never finish.
    need = seeded.signatures_needed

    shared_out = run_stage(client_share_keys, advertised, stage=Stage.SHARES, **{**stage, "need": need}, **common)
    shared = _ok(shared_out)
    step(relay_shares, quote(host), quote(seeded), shared)
    clock.lap(prefix + Stage.SHARES)

    contributed_out = run_stage(client_contribute, shared, stage=Stage.CONTRIBUTE, **{**stage, "need": need}, **common)
    contributors = _ok(contributed_out)
    clock.lap(prefix + Stage.CONTRIBUTE)

    survivors, last_hops, lost = [], [], 0
    for hops in seeded.ring_plan.rings:
        live = [h for h in hops if h in contributors]
        alive, last = _run_ring(host, seeded, live, dispatch, book, common, left=len(contributors) - lost, need=need)
        lost += len(live) - len(alive)
        survivors += alive
        last_hops += [last] if last else []
    survivors.sort()
    dropped = sorted(set(shared) - set(survivors))
    require_survivors(plan.label, Stage.RING_HOP, survivors, accounts, plan.threshold)
    clock.lap(prefix + Stage.RING_HOP)

    who = {"survivors": survivors, "dropped": dropped}
    signed_out = run_stage(client_consistency, survivors, stage=Stage.CONSISTENCY,
                           **{**stage, "need": seeded.signatures_needed}, **who, **common)
    signatures = step(collect_signatures, quote(host), quote(seeded), _ok(signed_out))
    clock.lap(prefix + Stage.CONSISTENCY)

    encoded = {name: base64.b64encode(blob).decode() for name, blob in signatures.items()}
    revealed_out = run_stage(client_reveal, survivors, stage=Stage.REVEAL, **stage, **who, signatures=encoded, **common)
    clock.lap(prefix + Stage.REVEAL)

    outcomes = {Stage.ADVERTISE: advertised_out, Stage.SHARES: shared_out, Stage.CONTRIBUTE: contributed_out,
                Stage.REVEAL: revealed_out}
    return Summed(seeded, advertised, survivors, dropped, last_hops, _ok(revealed_out), outcomes)


def _run_ring(host: Host, plan: RoundPlan, live: list[str], dispatch: Mode, book: RecordBook, common: dict, *,
              left: int, need: int) -> tuple[list[str], str | None]:
    """Run one ring's steps as they come, bypassing hops that fail; returns (survivors, last hop).

    ``left`` accounts of the sum can still survive (contributors not lost in earlier
    rings); a hop is bypassed only while at least ``need`` would remain. A hop that fails
    when the sum needs it, or an account that cannot re-seal the sum it already added to,
    stops the sum without recording the failure, so that a resume runs that step again.
    """
    failed: set[str] = set()
    done = 0
    while done < len(steps := ring_route(live, host=host.name, failed=failed)):
        move = steps[done]
        done += 1
        if isinstance(move, Relay):
            step(relay_partial, quote(host), quote(plan), move.sender, move.recipient)
            continue
        if isinstance(move, Hop):
            remain = left - len(failed) - 1
            indispensable = "" if remain >= need else f"without it {remain} account(s) would be left, {need} needed"
        else:
            indispensable = f"the ring cannot bypass it: its partial sum already holds its update and must go to {move.to}"
        outcome = run_step(client_ring_hop, move.account, dispatch, records=book, stage=Stage.RING_HOP,
                           name=hop_record_name(move.account, move.to), indispensable=indispensable,
                           to=move.to, came_from=move.came_from, **common)
        if isinstance(move, Hop) and not outcome["ok"]:
            get_run_logger().warning("round %s ring-hop: %s failed (%s); bypassing it", plan.label, move.account, outcome["error"])
            failed.add(move.account)
    alive = [h for h in live if h not in failed]
    last = next((s.sender for s in reversed(steps) if isinstance(s, Relay) and s.recipient == host.name), None)
    return alive, last


def federated_evaluation(cfg: FederationConfig, rnd: int, roster: dict[str, int], host: Host, dispatch: Mode,
                         clock: StageClock) -> dict:
    """Every account evaluates round ``rnd``'s new model on its eval split; the host learns the totals only."""
    plan = RoundPlan.create(cfg, roster, rnd, "eval")
    step(broadcast.with_options(task_run_name=f"eval-broadcast-round-{rnd}"), cfg, rnd, list(plan.roster), "eval", quote(host))
    clock.lap("eval broadcast")
    summed = secure_sum(cfg, plan, roster, host, dispatch, clock, prefix="eval ")
    metrics = step(unmask_evaluation, quote(host), plan, **summed.who)
    clock.lap("eval unmask")
    return metrics


def statistics_sum(cfg: FederationConfig, roster: dict[str, int], host: Host, dispatch: Mode) -> list[int]:
    """Federated statistics over every account's data (before round 1): the host learns the totals only."""
    plan = RoundPlan.create(cfg, roster, 0, "stats")
    clock = StageClock(0)
    summed = secure_sum(cfg, plan, roster, host, dispatch, clock, prefix="stats ")
    return step(unmask_statistics, quote(host), plan, **summed.who)
