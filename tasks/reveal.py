"""Task of the reveal step (see fedring/round/reveal.py)."""

from __future__ import annotations

import base64

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
           dropped: list[str], signatures: dict[str, str], purpose: str = "") -> dict:
    """Client: once the survivor set is signed by enough survivors, reveal the shares the host needs.

    ``signatures`` arrive base64-encoded, as the stage's parameters, and are decoded here:
    in a worker, Prefect keeps every task run of a batch of accounts, its parameters
    included, until the batch's own task run ends (its transaction holds theirs). The
    batch's accounts then share one copy of the signatures instead of keeping a decoded
    copy each (7 GB a worker at 1,000 accounts, when each signed set held both lists).
    """
    decoded = {name: base64.b64decode(blob) for name, blob in signatures.items()}
    plan = RoundPlan.create(cfg, roster, rnd, purpose)
    result = core.reveal(client_party(cfg, account), plan, survivors=survivors, dropped=dropped,
                         signatures=decoded, host=cfg.host.name)
    log_stage(account, round_label(rnd, purpose), "reveal", result)
    return result
