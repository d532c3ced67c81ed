"""Tasks of the ring-hop step (see fedring/round/ring.py)."""

from __future__ import annotations

from prefect import task

from fedring.config import FederationConfig
from fedring.layout import round_label
from fedring.round import ring as core
from fedring.round.party import Host, client_party
from fedring.round.plan import RoundPlan
from tasks._log import log_stage
from tasks._retry import RETRY_OPTIONS


@task(name="ring-hop", task_run_name="ring-hop-{account}-round-{rnd}-to-{to}", persist_result=False, **RETRY_OPTIONS)
def ring_hop(cfg: FederationConfig, account: str, roster: dict[str, int], rnd: int, to: str, came_from: str | None,
             purpose: str = "") -> dict:
    """Client: add the masked vector to the received partial sum; send the sum to the next hop."""
    plan = RoundPlan.create(cfg, roster, rnd, purpose)
    result = core.ring_hop(client_party(cfg, account), plan, to=to, came_from=came_from, host=cfg.host.name)
    log_stage(account, round_label(rnd, purpose), f"ring-hop to {to}", result)
    return result


@task(name="relay-partial", task_run_name="relay-{sender}-to-{recipient}-round-{plan.label}", persist_result=False, **RETRY_OPTIONS)
def relay_partial(host: Host, plan: RoundPlan, sender: str, recipient: str) -> int:
    """Host: move a signed sealed partial sum from one hop's outbox to the next hop's inbox (or the host)."""
    return core.relay_partial(host, plan, sender=sender, recipient=recipient)
