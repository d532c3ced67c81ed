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
def contribute(cfg: FederationConfig, account: str, roster: dict[str, int], rnd: int) -> dict:
    """Client: train, quantise and mask this account's update; keep the masked vector sealed."""
    plan = RoundPlan.create(cfg, roster, rnd)
    result = core.contribute(client_party(cfg, account), plan, training=cfg.training, seed=cfg.seed, host=cfg.host.name)
    log_stage(account, rnd, "contribute", result)
    return result
