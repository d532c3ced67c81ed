"""Tasks of enrolment and the advertise step (see fedring/round/advertise.py)."""

from __future__ import annotations

from prefect import task

from fedring.config import FederationConfig
from fedring.round import advertise as core
from fedring.round.party import Host, client_party, ensure_keys, host_party
from fedring.round.plan import RoundPlan
from fedring.storage import owner_store
from tasks._log import log_stage
from tasks._retry import RETRY_OPTIONS


@task(name="enrol", task_run_name="enrol-{account}", persist_result=False, **RETRY_OPTIONS)
def enrol(cfg: FederationConfig, account: str) -> None:
    """Client: create the account's identity and authority (once) and publish its signed public keys."""
    ensure_keys(cfg, account, owner_store(cfg, account))


@task(name="load-host", task_run_name="load-host", persist_result=False, **RETRY_OPTIONS)
def load_host(cfg: FederationConfig) -> Host:
    """Host: its keys (created on first use) and every account's signed public keys."""
    return host_party(cfg)


@task(name="publish-directory", task_run_name="publish-directory", persist_result=False, **RETRY_OPTIONS)
def publish_directory(host: Host) -> None:
    """Host: deliver every account's signed public keys to every client's inbox."""
    core.publish_directory(host)


@task(name="advertise", task_run_name="advertise-{account}-round-{rnd}", persist_result=False, **RETRY_OPTIONS)
def advertise(cfg: FederationConfig, account: str, roster: dict[str, int], rnd: int) -> dict:
    """Client: draw round secrets; publish the signed round key, self-mask commitment and model digest."""
    result = core.advertise(client_party(cfg, account), RoundPlan.create(cfg, roster, rnd), host=cfg.host.name)
    log_stage(account, rnd, "advertise", result)
    return result


@task(name="relay-advertisements", task_run_name="relay-advertisements-round-{plan.rnd}", persist_result=False, **RETRY_OPTIONS)
def relay_advertisements(host: Host, plan: RoundPlan, advertised: list[str]) -> RoundPlan:
    """Host: give advertisers every advertisement; returns the plan seeded by the advertised keys."""
    seeded, _ = core.relay_advertisements(host, plan, advertised)
    return seeded
