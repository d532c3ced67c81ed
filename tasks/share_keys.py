"""Tasks of the share-keys step (see fedring/round/share_keys.py)."""

from __future__ import annotations

from prefect import task

from fedring.config import FederationConfig
from fedring.layout import round_label
from fedring.round import share_keys as core
from fedring.round.party import Host, client_party
from fedring.round.plan import RoundPlan
from tasks._log import log_stage
from tasks._retry import RETRY_OPTIONS


@task(name="share-keys", task_run_name="share-keys-{account}-round-{rnd}", persist_result=False, **RETRY_OPTIONS)
def share(cfg: FederationConfig, account: str, roster: dict[str, int], rnd: int, purpose: str = "") -> dict:
    """Client: accept the round view; publish the Shamir shares of its secrets, sealed and signed."""
    result = core.share(client_party(cfg, account), RoundPlan.create(cfg, roster, rnd, purpose), host=cfg.host.name)
    log_stage(account, round_label(rnd, purpose), "share-keys", result)
    return result


@task(name="relay-shares", task_run_name="relay-shares-round-{plan.label}", persist_result=False, **RETRY_OPTIONS)
def relay_shares(host: Host, plan: RoundPlan, shared: list[str]) -> int:
    """Host: give each account the shares its neighbours sealed to it."""
    return core.relay_shares(host, plan, shared)
