"""Federated statistics as a flow of its own (``fedring stats``): the host learns totals only.

Each account sums its own data (rows, rows per class, and, for a workload that declares
statistics, fixed-point sums and squares of the features and histograms); a secure sum
without training gives the host the totals, finished into the statistics of the union.
It is the same sum (label ``0000-stats``) that a training run of such a workload makes
before round 1, so either adopts what the other computed.
"""

from __future__ import annotations

from prefect import flow

from fedring.config import FederationConfig
from flows.dispatch import Mode
from flows.host import enrol_accounts, statistics
from tasks.run import statistics_report


@flow(name="federated-statistics", flow_run_name="{cfg.run}-statistics", persist_result=False)
def federated_statistics(cfg: FederationConfig, dispatch: Mode = "embedded") -> dict:
    """Enrol the accounts, sum their statistics securely (plainly in a plaintext federation); the result."""
    roster, host = enrol_accounts(cfg, dispatch)
    return statistics_report(cfg, statistics(cfg, roster, host, dispatch))
