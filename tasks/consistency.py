"""Tasks of the consistency check (see fedring/round/consistency.py)."""

from __future__ import annotations

from prefect import task

from fedring.config import FederationConfig
from fedring.layout import round_label
from fedring.round import consistency as core
from fedring.round.party import Host, client_party
from fedring.round.plan import RoundPlan
from tasks._log import log_stage
from tasks._retry import RETRY_OPTIONS


@task(name="consistency", task_run_name="consistency-{account}-round-{rnd}", persist_result=False, **RETRY_OPTIONS)
def sign_survivors(cfg: FederationConfig, account: str, roster: dict[str, int], rnd: int,
                   survivors: list[str], dropped: list[str], purpose: str = "") -> dict:
    """Client: check the announced survivor set and sign it (one per round)."""
    plan = RoundPlan.create(cfg, roster, rnd, purpose)
    result = core.sign_survivors(client_party(cfg, account), plan, survivors=survivors, dropped=dropped, host=cfg.host.name)
    log_stage(account, round_label(rnd, purpose), "consistency", result)
    return result


@task(name="collect-signatures", task_run_name="collect-signatures-round-{plan.label}", persist_result=False, **RETRY_OPTIONS)
def collect_signatures(host: Host, plan: RoundPlan, signers: list[str]) -> dict[str, bytes]:
    """Host: the survivors' signed survivor sets, to hand to every survivor with the reveal request."""
    return core.collect_signatures(host, plan, signers)
