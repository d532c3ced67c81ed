"""Task of the contribute step (see fedring/round/contribute.py)."""

from __future__ import annotations

from prefect import task

from fedring.config import FederationConfig
from fedring.round import contribute as core
from fedring.round.party import client_party
from fedring.round.plan import RoundPlan
from tasks._log import log_stage
from tasks._retry import RETRY_OPTIONS


@task(name="contribute", task_run_name="contribute-{account}-round-{rnd}", persist_result=False, **RETRY_OPTIONS)
def contribute(cfg: FederationConfig, account: str, roster: dict[str, int], rnd: int, purpose: str = "") -> dict:
    """Client: compute this account's vector (train, evaluate or count), mask it; keep the masked vector sealed."""
    plan = RoundPlan.create(cfg, roster, rnd, purpose)
    vector = core.vector_for(cfg, plan, host=cfg.host.name)
    result = core.contribute(client_party(cfg, account), plan, host=cfg.host.name, vector=vector)
    log_stage(account, plan.label, "contribute", result)
    return result
