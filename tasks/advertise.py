"""Tasks of the advertise step and the run's key directory (see fedring/round/advertise.py)."""

from __future__ import annotations

from prefect import task

from fedring.config import FederationConfig
from fedring.layout import round_label
from fedring.round import advertise as core
from fedring.round.party import Host, client_party, host_party
from fedring.round.plan import RoundPlan
from tasks._log import log_stage
from tasks._retry import RETRY_OPTIONS


@task(name="load-host", task_run_name="load-host", persist_result=False, **RETRY_OPTIONS)
def load_host(cfg: FederationConfig) -> Host:
    """Host: its keys (created on first use) and every account's signed public keys."""
    return host_party(cfg)


@task(name="publish-directory", task_run_name="publish-directory", persist_result=False, **RETRY_OPTIONS)
def publish_directory(host: Host) -> None:
    """Host: deliver every account's signed public keys to every client's inbox."""
    core.publish_directory(host)


@task(name="advertise", task_run_name="advertise-{account}-round-{rnd}", persist_result=False, **RETRY_OPTIONS)
def advertise(cfg: FederationConfig, account: str, roster: dict[str, int], rnd: int, purpose: str = "") -> dict:
    """Client: draw round secrets; publish the signed round key, self-mask commitment and model digest."""
    result = core.advertise(client_party(cfg, account), RoundPlan.create(cfg, roster, rnd, purpose), host=cfg.host.name)
    log_stage(account, round_label(rnd, purpose), "advertise", result)
    return result


@task(name="relay-advertisements", task_run_name="relay-advertisements-round-{plan.label}", persist_result=False, **RETRY_OPTIONS)
def relay_advertisements(host: Host, plan: RoundPlan, advertised: list[str]) -> RoundPlan:
    """Host: give advertisers every advertisement; returns the plan seeded by the advertised keys."""
    seeded, _ = core.relay_advertisements(host, plan, advertised)
    return seeded
