"""The host's training flow: R rounds, each a subflow of client stages and host stages."""

from __future__ import annotations

from contextlib import nullcontext

from prefect import flow, get_run_logger
from prefect.utilities.annotations import quote
from prefect.artifacts import create_markdown_artifact
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from fedring.agent import daily_run
from fedring.config import FederationConfig
from fedring.errors import ConfigError
from fedring.lease import RunLease, hold_run
from fedring.manifest import latest_manifest
from fedring.report import markdown_summary
from fedring.round.party import Host
from fedring.storage import host_store
from flows.agents import enrol_agents
from flows.client import client_enrol
from flows.dispatch import Mode, run_clients
from flows.execution import resolve, stage_runner
from flows.plain_round import plain_round, plain_statistics
from flows.progress import report
from flows.secure_round import secure_round
from flows.secure_sum import statistics_sum
from tasks.advertise import load_host, publish_directory
from tasks.enrol import roster as read_roster
from tasks.run import needs_statistics, start, start_secure


def enrol_accounts(cfg: FederationConfig, dispatch: Mode) -> tuple[dict[str, int], Host | None]:
    """Every account checks its own data and publishes its sample count (and keys, if secure); the roster.

    Nothing is committed before this: bad data or a model that differs fails the run here,
    naming the account and the file. With agents, a resumed run keeps the roster it started
    with (an account offline now drops from its rounds by deadline).
    """
    if dispatch == "agents":
        roster = enrol_agents(cfg)
        if latest_manifest(host_store(cfg), cfg.run) is None:
            read_roster(cfg)  # every account's model checked against the host's before the run starts
    else:
        run_clients(client_enrol, [a.name for a in cfg.accounts], dispatch, cfg=cfg)
        roster = read_roster(cfg)
    host = None
    if cfg.secagg.secure:
        host = load_host(cfg)
        publish_directory(quote(host))
    return roster, host


def statistics(cfg: FederationConfig, roster: dict[str, int], host: Host | None, dispatch: Mode) -> list[int]:
    """Federated statistics over every account's data: a secure sum, or the baseline's plain one."""
    if host is not None:
        return statistics_sum(cfg, roster, host, dispatch)
    return plain_statistics(cfg, list(roster), dispatch)


@flow(name="federated-training", flow_run_name="{cfg.run}", persist_result=False)
def federated_training(cfg: FederationConfig, dispatch: Mode = "embedded") -> dict:
    """Enrol the accounts, then train the rounds not yet committed.

    Each account's data is where it keeps it (``fedring demo`` puts a split of MNIST there
    first). A workload that declares federated statistics gets a statistics sum before
    round 1, and its initial model is built from the totals. Secure by default
    (``cfg.secagg.secure``); the plaintext baseline runs the same data, model and seeds
    through plain federated averaging. With ``dispatch="agents"`` each organisation's
    agent checks its own data and enrols (the host holds no client credentials); the
    roster is what they report. The whole run holds the run's lease (``fedring.lease``):
    a second process on the run is refused with ``RunBusy``, and every commit first
    checks that the lease was not taken over.
    """
    with hold_run(host_store(cfg), cfg.run) as lease:  # RunBusy at once while another process drives the run
        return _train(cfg, dispatch, lease)


def _train(cfg: FederationConfig, dispatch: Mode, lease: RunLease) -> dict:
    log = get_run_logger()
    if dispatch == "agents" and not cfg.secagg.secure:
        raise ConfigError("secagg.secure: false (the plaintext baseline) runs embedded only; agents run secure rounds")
    execution = resolve(cfg.execution, len(cfg.accounts))
    roster, host = enrol_accounts(cfg, dispatch)
    totals = statistics(cfg, roster, host, dispatch) if needs_statistics(cfg) else None
    lease.check()  # manifest 0 creates the run: a commit like the others
    if host is not None:
        manifest = start_secure(cfg, roster, quote(host), totals)
        round_flow = secure_round
    else:
        manifest = start(cfg, roster, totals)
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
                manifest = rounds(cfg, rnd, roster, dispatch)  # checks the lease before its commit
    if manifest["committed"]:
        create_markdown_artifact(key=f"{cfg.run}-summary", markdown=markdown_summary(cfg.run, manifest["committed"]))
    return manifest


@flow(name="scheduled-training", persist_result=False)
def scheduled_training(config: str = "federation.yaml", dispatch: Mode = "agents") -> dict:
    """A scheduled run of the federation in ``config``, with the UTC date appended to its run id.

    Re-running on the same day resumes that day's run; the next day starts a new one. The
    agents know these daily run ids (``fedring.agent.known_run``).
    """
    from datetime import datetime, timezone

    from fedring.config import load_config

    cfg = load_config(config)
    cfg = cfg.model_copy(update={"run": daily_run(cfg.run, datetime.now(timezone.utc))})
    return federated_training(cfg, dispatch=dispatch)
