"""Evaluation and training sums as an exact integer vector, and back from the total.

Layout (int64, one entry per field, in this order)::

    examples   count   exact
    correct    count   exact
    loss_sum   real    round(loss_sum * 2^20)
    <metric>   ...     the workload's ``metrics``, sorted by name ("count" exact, "real" as loss_sum)

Every account's entry must stay below 2^47 in magnitude (``fedring.secagg.exact``), so a
real sum may reach 2^27 (about 1.3e8) per account, ample for summed cross-entropy. Each
real entry is off by at most 2^-21, so a total over N accounts is within N * 2^-21 of
the plaintext sum (``error_bound``); counts are exact. The vector rides in the exact
section of the secure sum (``exact.to_words``) or is added in the clear in plain rounds.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from fedring.secagg.exact import check_values
from fedring.workloads.base import MetricKind, Sums

SCALE_BITS = 20


def fields(metrics: Mapping[str, MetricKind]) -> list[tuple[str, MetricKind]]:
    """(name, kind) of every entry, in vector order."""
    return [("examples", "count"), ("correct", "count"), ("loss_sum", "real"), *sorted(metrics.items())]


def encode(sums: Sums, metrics: Mapping[str, MetricKind]) -> np.ndarray:
    """``sums`` as the int64 vector of the module docstring (names checked by the caller)."""
    values = {"examples": sums.examples, "correct": sums.correct, "loss_sum": sums.loss_sum, **sums.extra}
    out = [int(values[n]) if kind == "count" else int(round(float(values[n]) * 2**SCALE_BITS))
           for n, kind in fields(metrics)]
    return check_values(np.array(out, dtype=np.int64), "evaluation sums")


def decode(totals: np.ndarray, metrics: Mapping[str, MetricKind]) -> Sums:
    """The summed ``Sums`` from the total of several accounts' ``encode`` vectors."""
    values: dict[str, int | float] = {}
    for (name, kind), v in zip(fields(metrics), np.asarray(totals).tolist(), strict=True):
        values[name] = int(v) if kind == "count" else v / 2**SCALE_BITS
    extra = {n: values[n] for n in sorted(metrics)}
    return Sums(float(values["loss_sum"]), int(values["correct"]), int(values["examples"]), extra)


def error_bound(accounts: int) -> float:
    """Largest error of a decoded real total over ``accounts`` accounts (counts are exact)."""
    return accounts * 2.0 ** -(SCALE_BITS + 1)
