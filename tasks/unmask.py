"""Host tasks after the reveal: unmask and aggregate (or unmask a sub-sum's totals), the per-account report."""

from __future__ import annotations

from prefect import get_run_logger, task

from fedring.round import unmask as core
from fedring.round.contribute import published_meta
from fedring.round.evaluate import evaluation_length, federated_metrics
from fedring.round.party import Host
from fedring.round.plan import RoundPlan
from fedring.workloads.federation import federation_workload
from tasks._retry import RETRY_OPTIONS


@task(name="unmask-and-aggregate", task_run_name="unmask-and-aggregate-round-{plan.label}", persist_result=False, **RETRY_OPTIONS)
def unmask(host: Host, plan: RoundPlan, last_hops: list[str], survivors: list[str], dropped: list[str],
           revealers: list[str], advertised: list[str]) -> tuple[str, dict]:
    """Open the ring sums, unmask with the revealed shares, aggregate, seal; the model key and statistics."""
    key, stats = core.unmask_and_aggregate(host, plan, last_hops=last_hops, survivors=survivors, dropped=dropped,
                                           revealers=revealers, advertised=advertised)
    get_run_logger().info("round %s unmasked: %d survivors, %d dropped %s", plan.label, len(survivors), len(dropped), stats)
    return key, stats


@task(name="unmask-evaluation", task_run_name="unmask-evaluation-round-{plan.label}", persist_result=False, **RETRY_OPTIONS)
def unmask_evaluation(host: Host, plan: RoundPlan, last_hops: list[str], survivors: list[str], dropped: list[str],
                      revealers: list[str], advertised: list[str]) -> dict:
    """Unmask a federated evaluation: accuracy, loss and counts over the survivors' eval splits together."""
    fw = federation_workload(host.cfg)
    totals = core.unmask_totals(host, plan, length=evaluation_length(fw), last_hops=last_hops, survivors=survivors,
                                dropped=dropped, revealers=revealers, advertised=advertised)
    get_run_logger().info("round %s unmasked: %d survivors, %d dropped", plan.label, len(survivors), len(dropped))
    return federated_metrics(fw, totals, participants=survivors, dropped=dropped)


@task(name="unmask-statistics", task_run_name="unmask-statistics", persist_result=False, **RETRY_OPTIONS)
def unmask_statistics(host: Host, plan: RoundPlan, last_hops: list[str], survivors: list[str], dropped: list[str],
                      revealers: list[str], advertised: list[str]) -> list[int]:
    """Unmask a federated statistics sum: its int64 totals over the survivors' data together."""
    fw = federation_workload(host.cfg)
    totals = core.unmask_totals(host, plan, length=fw.statistics_spec().size, last_hops=last_hops, survivors=survivors,
                                dropped=dropped, revealers=revealers, advertised=advertised)
    get_run_logger().info("round %s unmasked: %d survivors, %d dropped", plan.label, len(survivors), len(dropped))
    return totals.tolist()


@task(name="round-report", task_run_name="round-report-{plan.label}", persist_result=False, **RETRY_OPTIONS)
def round_report(host: Host, plan: RoundPlan, survivors: list[str], accounts: list[str]) -> tuple[dict[str, dict], dict[str, int]]:
    """Survivors' public contribution metadata, and the bytes each account sent this round."""
    metas = {a: published_meta(host, plan, a) for a in survivors}
    return metas, {a: host.outbox_bytes(a, plan.label) for a in accounts}
