"""One round of secure aggregation, as a Prefect flow.

broadcast → advertise (clients) → relay → share keys (clients) → relay → contribute
(clients) → ring hops (clients, in ring order, routed by ``fedring.secagg.ring_route``)
→ consistency check (survivors sign the survivor set) → reveal (survivors) → unmask and
aggregate → evaluate → commit.

Client stages run as client flows (``flows/client.py``, see ``flows/dispatch.py``); host
stages are tasks. An account that is unavailable or refuses a stage is dropped for the
round (a declared dropout); the round goes on while at least ``threshold`` accounts
remain, else it fails with TooFewSurvivors and commits nothing. Any other failure stops
the round naming account and stage. Decisions are recorded before the round acts on
them, so a rerun replays them and runs only what never finished.
"""

from __future__ import annotations

import base64

from prefect import flow, get_run_logger
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
from flows.round_tail import StageClock, finish_round, require_survivors
from tasks.advertise import load_host, relay_advertisements
from tasks.consistency import collect_signatures
from tasks.model import broadcast
from tasks.ring import relay_partial
from tasks.share_keys import relay_shares
from tasks.unmask import round_report, unmask


def _ok(outcomes: dict[str, dict]) -> list[str]:
    return sorted(a for a, o in outcomes.items() if o["ok"])


@flow(name="secure-round", flow_run_name="{cfg.run}-round-{rnd}", persist_result=False)
def secure_round(cfg: FederationConfig, rnd: int, roster: dict[str, int], dispatch: Mode = "embedded") -> dict:
    """One round of secure aggregation over the ring; returns the manifest after commit."""
    plan = RoundPlan.create(cfg, roster, rnd)
    accounts = list(plan.roster)
    host = load_host(cfg)
    book = RecordBook(host.store, cfg.run, rnd)
    clock = StageClock(rnd)
    common = {"cfg": cfg, "roster": roster, "rnd": rnd}
    stage = {"mode": dispatch, "records": book, "need": plan.threshold}

    step(broadcast, cfg, rnd, accounts)
    clock.lap("broadcast")

    advertised_out = run_stage(client_advertise, accounts, stage=Stage.ADVERTISE, **stage, **common)
    advertised = _ok(advertised_out)
    seeded = step(relay_advertisements, quote(host), plan, advertised)
    clock.lap(Stage.ADVERTISE)
    # From here on a recorded decision must leave enough survivors to sign the survivor set,
    # or every resume would replay it into a round that can never finish.
    need = seeded.signatures_needed

    shared_out = run_stage(client_share_keys, advertised, stage=Stage.SHARES, **{**stage, "need": need}, **common)
    shared = _ok(shared_out)
    step(relay_shares, quote(host), quote(seeded), shared)
    clock.lap(Stage.SHARES)

    contributed_out = run_stage(client_contribute, shared, stage=Stage.CONTRIBUTE, **{**stage, "need": need}, **common)
    contributors = _ok(contributed_out)
    clock.lap(Stage.CONTRIBUTE)

    survivors, last_hops, lost = [], [], 0
    for hops in seeded.ring_plan.rings:
        live = [h for h in hops if h in contributors]
        alive, last = _run_ring(host, seeded, live, dispatch, book, common, left=len(contributors) - lost, need=need)
        lost += len(live) - len(alive)
        survivors += alive
        last_hops += [last] if last else []
    survivors.sort()
    dropped = sorted(set(shared) - set(survivors))
    require_survivors(rnd, Stage.RING_HOP, survivors, accounts, plan.threshold)
    clock.lap(Stage.RING_HOP)

    who = {"survivors": survivors, "dropped": dropped}
    signed_out = run_stage(client_consistency, survivors, stage=Stage.CONSISTENCY,
                           **{**stage, "need": seeded.signatures_needed}, **who, **common)
    signatures = step(collect_signatures, quote(host), quote(seeded), _ok(signed_out))
    clock.lap(Stage.CONSISTENCY)

    encoded = {name: base64.b64encode(blob).decode() for name, blob in signatures.items()}
    revealed_out = run_stage(client_reveal, survivors, stage=Stage.REVEAL, **stage, **who, signatures=encoded, **common)
    clock.lap(Stage.REVEAL)

    model_key, training = step(unmask, quote(host), plan, last_hops, survivors, dropped, _ok(revealed_out), advertised)
    clock.lap(Stage.UNMASK)

    metas, sent = step(round_report, quote(host), plan, survivors, accounts)
    outs = {Stage.ADVERTISE: advertised_out, Stage.SHARES: shared_out, Stage.CONTRIBUTE: contributed_out,
            Stage.REVEAL: revealed_out}
    reused = {s: sorted(a for a, o in out.items() if o["result"].get("reused")) for s, out in outs.items()}
    return finish_round(
        cfg, rnd, model_key, clock, host=host, metas=metas, training=training, participants=survivors,
        dropped=sorted(set(accounts) - set(survivors)), bytes_sent=sent, reused=reused,
    )


def _run_ring(host: Host, plan: RoundPlan, live: list[str], dispatch: Mode, book: RecordBook, common: dict, *,
              left: int, need: int) -> tuple[list[str], str | None]:
    """Run one ring's steps as they come, bypassing hops that fail; returns (survivors, last hop).

    ``left`` accounts of the round can still survive (contributors not lost in earlier
    rings); a hop is bypassed only while at least ``need`` would remain. A hop that fails
    when the round needs it, or an account that cannot re-seal the sum it already added to,
    stops the round without recording the failure, so that a resume runs that step again.
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
            get_run_logger().warning("round %d ring-hop: %s failed (%s); bypassing it", plan.rnd, move.account, outcome["error"])
            failed.add(move.account)
    alive = [h for h in live if h not in failed]
    last = next((s.sender for s in reversed(steps) if isinstance(s, Relay) and s.recipient == host.name), None)
    return alive, last
