"""Federated statistics: a secure sum of every account's data sums, with no model and no training.

NVIDIA FLARE's federated statistics on fedring's secure sum (``RoundPlan.purpose ==
"stats"``, label ``"0000-stats"``): each account computes ``fedring.data.statistics``
sums over its own training split (rows, fixed-point sums and squares of the features,
rows per class, histograms) and adds them as exact integers; the host learns the totals
and finishes them into means, variances, class counts and histograms of the union
(``finish``), never one account's. A workload that declares statistics (``StatsSpec``,
the tabular one standardises with them) gets a statistics sum before round 1, and its
initial model is built from the result; ``fedring stats`` runs one for any workload
(without a spec: rows and rows per class).
"""

from __future__ import annotations

import time

import numpy as np

from fedring.config import FederationConfig
from fedring.data.statistics import FederatedStats
from fedring.storage import Store
from fedring.workloads.federation import FederationWorkload, federation_workload
from fedring.workloads.local import statistics_local


def statistics_sums(fw: FederationWorkload, store: Store) -> np.ndarray:
    """This account's statistics vector (int64, exact) over its own training split."""
    return statistics_local(fw.workload, store, prefix=fw.prefix, spec=fw.statistics_spec())


def statistics_vector(party, view, *, cfg: FederationConfig, host: str) -> tuple[dict, np.ndarray]:
    """Client: the exact words of this account's statistics vector."""
    from fedring.secagg import exact

    start = time.perf_counter()
    words = exact.to_words(statistics_sums(federation_workload(cfg), party.store), f"account {party.name!r}: statistics")
    return {"seconds": round(time.perf_counter() - start, 3)}, words


def as_json(stats: FederatedStats, classes: tuple[str, ...] | None) -> dict:
    """Finished statistics as JSON (the run manifest, ``fedring stats --json``)."""
    names = list(classes) if classes and len(classes) == len(stats.label_counts) else list(range(len(stats.label_counts)))
    return {
        "count": stats.count,
        "labels": {str(n): int(c) for n, c in zip(names, stats.label_counts.tolist(), strict=True)},
        "features": {
            f: {"mean": float(m), "std": float(np.sqrt(v))}
            for f, m, v in zip(stats.features, stats.mean.tolist(), stats.variance.tolist(), strict=True)
        },
        "histograms": stats.histograms.tolist(),
        "scale_bits": stats.scale_bits,
    }
