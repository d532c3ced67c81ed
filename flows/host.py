"""The host's training flow: R rounds, each a subflow of client stages and host stages."""

from __future__ import annotations

from contextlib import nullcontext

from prefect import flow, get_run_logger
from prefect.utilities.annotations import quote
from prefect.artifacts import create_markdown_artifact
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from fedring.config import FederationConfig
from fedring.report import markdown_summary
from flows.client import client_enrol
from flows.dispatch import Mode, run_clients
from flows.execution import resolve, stage_runner
from flows.plain_round import plain_round
from flows.progress import report
from flows.secure_round import secure_round
from tasks.advertise import load_host, publish_directory
from tasks.data import split
from tasks.run import start, start_secure


@flow(name="federated-training", flow_run_name="{cfg.run}", persist_result=False)
def federated_training(cfg: FederationConfig, dispatch: Mode = "embedded") -> dict:
    """Split the data, enrol the accounts, then train the rounds not yet committed.

    Secure by default (``cfg.secagg.secure``); the plaintext baseline runs the same
    data, model and seeds through plain federated averaging.
    """
    log = get_run_logger()
    execution = resolve(cfg.execution, len(cfg.accounts))
    roster = split(cfg)
    if cfg.secagg.secure:
        run_clients(client_enrol, list(roster), dispatch, cfg=cfg)
        host = load_host(cfg)
        publish_directory(quote(host))
        manifest = start_secure(cfg, roster, quote(host))
        round_flow = secure_round
    else:
        manifest = start(cfg, roster)
        round_flow = plain_round
    done = len(manifest["committed"])
    if done:
        log.info("run %s: resuming after %d committed rounds", cfg.run, done)
    todo = range(done + 1, cfg.training.rounds + 1)
    with stage_runner(execution) if dispatch == "embedded" and todo else nullcontext() as runner:
        rounds = round_flow.with_options(task_runner=runner) if runner else round_flow
        for rnd in todo:
            report(rnd, "round")
            with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
                manifest = rounds(cfg, rnd, roster, dispatch)
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
