"""The host's training flow: R rounds, each a subflow of client stages and host stages."""

from __future__ import annotations

import time

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from fedring.config import FederationConfig
from fedring.errors import TooFewSurvivors
from fedring.report import markdown_summary, rows
from flows.client import client_enrol
from flows.dispatch import Mode, run_clients
from flows.plain import client_train
from flows.progress import report
from flows.round import secure_round
from tasks.data import split
from tasks.host import broadcast, commit, evaluate, start
from tasks.plain import aggregate_plain
from tasks.secure_host import publish_directory, start_secure


@flow(name="plain-round", flow_run_name="{cfg.run}-round-{rnd}", persist_result=False)
def plain_round(cfg: FederationConfig, rnd: int, roster: dict[str, int], dispatch: Mode = "embedded") -> dict:
    """Broadcast → train (clients) → aggregate → evaluate → commit, without secure aggregation."""
    accounts = list(roster)
    stage_seconds: dict[str, float] = {}
    tick = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal tick
        now = time.perf_counter()
        stage_seconds[stage] = round(now - tick, 3)
        tick = now
        report(rnd, stage, done=True)

    broadcast(cfg, rnd, accounts)
    lap("broadcast")
    outcomes = run_clients(client_train, accounts, dispatch, cfg=cfg, rnd=rnd)
    survivors = [a for a, o in outcomes.items() if o.ok]
    dropped = [a for a in accounts if a not in survivors]
    if len(survivors) < cfg.threshold:
        raise TooFewSurvivors(f"round {rnd}: {len(survivors)} of {len(accounts)} accounts finished, {cfg.threshold} needed; missing: {', '.join(dropped)}")
    lap("train")
    model_key, metas = aggregate_plain(cfg, rnd, survivors)
    lap("aggregate")
    evaluation = evaluate(cfg, model_key, rnd)
    lap("evaluate")
    metrics = {
        "round": rnd,
        **evaluation,
        "train_loss": sum(m["loss"] * m["samples"] for m in metas.values()) / sum(m["samples"] for m in metas.values()),
        "participants": survivors,
        "dropped": dropped,
        "clipped": 0,
        "stage_seconds": stage_seconds,
        "train_seconds": {a: m["train_seconds"] for a, m in metas.items()},
        "bytes_sent": {a: m["bytes_sent"] for a, m in metas.items()},
        "secure": False,
    }
    metrics["seconds"] = sum(stage_seconds.values())
    manifest = commit(cfg, rnd, model_key, metrics)
    report(rnd, "commit", done=True, accuracy=evaluation["accuracy"])
    create_table_artifact(key=f"{cfg.run}-round-{rnd}", table=rows([metrics]), description=f"round {rnd} of run {cfg.run}")
    return manifest


@flow(name="federated-training", flow_run_name="{cfg.run}", persist_result=False)
def federated_training(cfg: FederationConfig, dispatch: Mode = "embedded") -> dict:
    """Split the data, enrol the accounts, then train the rounds not yet committed.

    Secure by default (``cfg.secagg.secure``); the plaintext baseline runs the same
    data, model and seeds through plain federated averaging.
    """
    log = get_run_logger()
    roster = split(cfg)
    if cfg.secagg.secure:
        run_clients(client_enrol, list(roster), dispatch, cfg=cfg)
        publish_directory(cfg)
        manifest = start_secure(cfg, roster)
        round_flow = secure_round
    else:
        manifest = start(cfg, roster)
        round_flow = plain_round
    done = len(manifest["committed"])
    if done:
        log.info("run %s: resuming after %d committed rounds", cfg.run, done)
    for rnd in range(done + 1, cfg.training.rounds + 1):
        report(rnd, "round")
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            manifest = round_flow(cfg, rnd, roster, dispatch)
    if manifest["committed"]:
        create_markdown_artifact(key=f"{cfg.run}-summary", markdown=markdown_summary(cfg.run, manifest["committed"]))
    return manifest


@flow(name="scheduled-training", persist_result=False)
def scheduled_training(config: str = "federation.yaml", dispatch: Mode = "deployments") -> dict:
    """A scheduled run of the federation in ``config``, with the UTC date appended to its run id.

    Re-running on the same day resumes that day's run; the next day starts a new one.
    """
    from datetime import datetime, timezone

    from fedring.config import load_config

    cfg = load_config(config)
    cfg = cfg.model_copy(update={"run": f"{cfg.run}-{datetime.now(timezone.utc):%Y%m%d}"})
    return federated_training(cfg, dispatch=dispatch)
