"""Host tasks after the reveal: unmask and aggregate, and the round's per-account report."""

from __future__ import annotations

from prefect import get_run_logger, task

from fedring.round import unmask as core
from fedring.round.contribute import published_meta
from fedring.round.party import Host
from fedring.round.plan import RoundPlan
from tasks._retry import RETRY_OPTIONS


@task(name="unmask-and-aggregate", task_run_name="unmask-and-aggregate-round-{plan.rnd}", persist_result=False, **RETRY_OPTIONS)
def unmask(host: Host, plan: RoundPlan, last_hops: list[str], survivors: list[str], dropped: list[str],
           revealers: list[str], advertised: list[str]) -> tuple[str, dict]:
    """Open the ring sums, unmask with the revealed shares, aggregate, seal; the model key and statistics."""
    key, stats = core.unmask_and_aggregate(host, plan, last_hops=last_hops, survivors=survivors, dropped=dropped,
                                           revealers=revealers, advertised=advertised)
    get_run_logger().info("round %d unmasked: %d survivors, %d dropped %s", plan.rnd, len(survivors), len(dropped), stats)
    return key, stats


@task(name="round-report", task_run_name="round-report-{plan.rnd}", persist_result=False, **RETRY_OPTIONS)
def round_report(host: Host, plan: RoundPlan, survivors: list[str], accounts: list[str]) -> tuple[dict[str, dict], dict[str, int]]:
    """Survivors' public contribution metadata, and the bytes each account sent this round."""
    metas = {a: published_meta(host, plan, a) for a in survivors}
    return metas, {a: host.outbox_bytes(a, plan.rnd) for a in accounts}
