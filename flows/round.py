"""The secure round: advertise → contribute → ring-hop → reveal → unmask → evaluate → commit.

Client stages are client flows (one per account, see flows/client.py); host stages
are tasks. An account whose stage fails after its retries is dropped for the round;
the round goes on while at least ``threshold`` accounts remain, else it fails with
TooFewSurvivors and commits nothing. Every outcome is recorded, so a rerun replays
the same decisions and dispatches only what never finished.
"""

from __future__ import annotations

import time

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from prefect.utilities.annotations import quote

from fedring.config import FederationConfig
from fedring.errors import TooFewSurvivors
from fedring.layout import Stage
from fedring.report import rows
from fedring.secure.plan import RoundPlan
from fedring.storage import host_store
from flows.client import client_advertise, client_contribute, client_reveal, client_ring_hop
from flows.dispatch import Mode, RecordBook, run_stage
from flows.progress import report
from tasks.host import broadcast, commit, evaluate
from tasks.secure_host import relay_advertisements, relay_partial, round_report, unmask


class _Clock:
    """Seconds per stage, and progress events as each stage ends."""

    def __init__(self, rnd: int) -> None:
        self.rnd, self.seconds, self._tick = rnd, {}, time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(self.seconds.get(stage, 0.0) + now - self._tick, 3)
        self._tick = now
        report(self.rnd, stage, done=True)


def _require(rnd: int, stage: str, alive: list[str], everyone: list[str], threshold: int) -> None:
    if len(alive) < threshold:
        missing = [a for a in everyone if a not in alive]
        raise TooFewSurvivors(
            f"round {rnd} {stage}: {len(alive)} of {len(everyone)} accounts left, threshold {threshold}; "
            f"missing: {', '.join(missing)}. Nothing was committed."
        )


def _ok(outcomes: dict[str, dict]) -> list[str]:
    return sorted(a for a, o in outcomes.items() if o["ok"])


@flow(name="secure-round", flow_run_name="{cfg.run}-round-{rnd}", persist_result=False)
def secure_round(cfg: FederationConfig, rnd: int, roster: dict[str, int], dispatch: Mode = "embedded") -> dict:
    """One round of secure aggregation over the ring; returns the manifest after commit."""
    log = get_run_logger()
    plan = RoundPlan.create(cfg, roster, rnd)
    accounts = list(plan.roster)
    host = cfg.host.name
    book = RecordBook(host_store(cfg), cfg.run, rnd)
    clock = _Clock(rnd)
    common = {"cfg": cfg, "roster": roster, "rnd": rnd}

    broadcast(cfg, rnd, accounts)
    clock.lap("broadcast")

    advertised_out = run_stage(client_advertise, accounts, dispatch, records=book, stage=Stage.ADVERTISE, **common)
    advertised = _ok(advertised_out)
    _require(rnd, Stage.ADVERTISE, advertised, accounts, plan.threshold)
    relay_advertisements(cfg, roster, rnd, advertised)
    clock.lap(Stage.ADVERTISE)

    contributed_out = run_stage(client_contribute, advertised, dispatch, records=book, stage=Stage.CONTRIBUTE, **common)
    contributors = _ok(contributed_out)
    _require(rnd, Stage.CONTRIBUTE, contributors, accounts, plan.threshold)
    clock.lap(Stage.CONTRIBUTE)

    survivors, last_hops = [], []
    for hops in plan.ring_plan.rings:
        live = [h for h in hops if h in contributors]
        prev, prev_from, prev_to = None, None, None
        for i, hop in enumerate(live):
            target = live[i + 1] if i + 1 < len(live) else host
            if prev is not None:
                if prev_to != hop:  # the hop prev sealed to failed: prev re-seals to this one
                    run_stage(client_ring_hop, [prev], dispatch, records=book, stage=Stage.RING_HOP,
                              label=lambda a, h=hop: f"{a}-to-{h}", to=hop, came_from=prev_from, **common)
                relay_partial(quote(cfg), roster, rnd, prev, hop)
            outcome = run_stage(client_ring_hop, [hop], dispatch, records=book, stage=Stage.RING_HOP,
                                label=lambda a, t=target: f"{a}-to-{t}", to=target, came_from=prev, **common)[hop]
            if not outcome["ok"]:
                log.warning("round %d ring-hop: %s failed (%s); bypassing it", rnd, hop, outcome["error"])
                continue
            survivors.append(hop)
            prev, prev_from, prev_to = hop, prev, target
        if prev is not None:
            if prev_to != host:
                run_stage(client_ring_hop, [prev], dispatch, records=book, stage=Stage.RING_HOP,
                          label=lambda a: f"{a}-to-{host}", to=host, came_from=prev_from, **common)
            relay_partial(quote(cfg), roster, rnd, prev, host)
            last_hops.append(prev)
    survivors.sort()
    dropped = sorted(set(advertised) - set(survivors))
    _require(rnd, Stage.RING_HOP, survivors, accounts, plan.threshold)
    clock.lap(Stage.RING_HOP)

    revealed_out = run_stage(client_reveal, survivors, dispatch, records=book, stage=Stage.REVEAL,
                             survivors=survivors, dropped=dropped, **common)
    clock.lap(Stage.REVEAL)

    model_key = unmask(cfg, roster, rnd, last_hops, survivors, dropped, advertised)
    clock.lap(Stage.UNMASK)
    evaluation = evaluate(cfg, model_key, rnd)
    clock.lap("evaluate")

    metas, sent = round_report(cfg, roster, rnd, survivors, accounts)
    metrics = {
        "round": rnd,
        **evaluation,
        "train_loss": sum(m["loss"] * m["samples"] for m in metas.values()) / sum(m["samples"] for m in metas.values()),
        "participants": survivors,
        "dropped": sorted(set(accounts) - set(survivors)),
        "clipped": sum(m.get("clipped", 0) for m in metas.values()),
        "stage_seconds": clock.seconds,
        "train_seconds": {a: m["train_seconds"] for a, m in metas.items()},
        "bytes_sent": sent,
        "reused": {
            stage: sorted(a for a, o in out.items() if o["result"].get("reused"))
            for stage, out in ((Stage.ADVERTISE, advertised_out), (Stage.CONTRIBUTE, contributed_out), (Stage.REVEAL, revealed_out))
        },
        "secure": True,
    }
    metrics["seconds"] = sum(clock.seconds.values())
    manifest = commit(cfg, rnd, model_key, metrics)
    report(rnd, "commit", done=True, accuracy=evaluation["accuracy"])
    create_table_artifact(key=f"{cfg.run}-round-{rnd}", table=rows([metrics]), description=f"secure round {rnd} of run {cfg.run}")
    return manifest
