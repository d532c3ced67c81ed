"""Task of the reveal step (see fedring/round/reveal.py)."""

from __future__ import annotations

from prefect import task

from fedring.config import FederationConfig
from fedring.layout import round_label
from fedring.round import reveal as core
from fedring.round.party import client_party
from fedring.round.plan import RoundPlan
from tasks._log import log_stage
from tasks._retry import RETRY_OPTIONS


@task(name="reveal", task_run_name="reveal-{account}-round-{rnd}", persist_result=False, **RETRY_OPTIONS)
def reveal(cfg: FederationConfig, account: str, roster: dict[str, int], rnd: int, survivors: list[str],
           dropped: list[str], signatures: dict[str, bytes], purpose: str = "") -> dict:
    """Client: once the survivor set is signed by enough survivors, reveal the shares the host needs."""
    plan = RoundPlan.create(cfg, roster, rnd, purpose)
    result = core.reveal(client_party(cfg, account), plan, survivors=survivors, dropped=dropped,
                         signatures=signatures, host=cfg.host.name)
    log_stage(account, round_label(rnd, purpose), "reveal", result)
    return result
