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
    """Client: create the account's authority and identity key (once) and publish its public keys."""
    ensure_keys(cfg, account, owner_store(cfg, account))


@task(name="load-host", persist_result=False, **RETRY_OPTIONS)
def load_host(cfg: FederationConfig) -> Host:
    """Host: its keys (created on first use) and every account's published public keys."""
    return host_party(cfg)


@task(name="publish-directory", persist_result=False, **RETRY_OPTIONS)
def publish_directory(host: Host) -> None:
    """Host: deliver every account's public keys to every client's inbox."""
    core.publish_directory(host)


@task(name="advertise", task_run_name="advertise-{account}-round-{rnd}", persist_result=False, **RETRY_OPTIONS)
def advertise(cfg: FederationConfig, account: str, roster: dict[str, int], rnd: int) -> dict:
    """Client: draw round secrets; publish the round public key and the Shamir shares, sealed."""
    result = core.advertise(client_party(cfg, account), RoundPlan.create(cfg, roster, rnd))
    log_stage(account, rnd, "advertise", result)
    return result


@task(name="relay-advertisements", persist_result=False, **RETRY_OPTIONS)
def relay_advertisements(host: Host, plan: RoundPlan, advertised: list[str]) -> int:
    """Host: give advertisers the round's public keys and the shares sealed to them."""
    return core.relay_advertisements(host, plan, advertised)
