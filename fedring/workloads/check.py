"""``data check``: read an account's data as the workload will, and show its owner what is there.

The check is the workload's own ``load_data`` (so every format and schema error it would
meet in a round shows now, naming the account and the file), then a forward pass of a
fresh model over a few examples of each split (so data that does not fit the model, such
as images of another size, fails here rather than in round 1). The report holds counts
and label histograms: for the owner's eyes, never sent anywhere.
"""

from __future__ import annotations

import numpy as np

from fedring.data.examples import Examples
from fedring.errors import DataError, WorkloadError
from fedring.layout import DATA_PREFIX
from fedring.storage import Store
from fedring.workloads.bound import BoundWorkload

PROBE_EXAMPLES = 8


def check_account_data(workload: BoundWorkload, store: Store, *, prefix: str = DATA_PREFIX, seed: int = 0) -> dict:
    """The owner's report: per split, examples, source, feature shape and label histogram."""
    data = workload.load_data(store, prefix)
    model = workload.build_model(seed)
    splits = {}
    for name, examples in (("train", data.train), ("eval", data.evaluation)):
        if examples is None:
            splits[name] = None
            continue
        _probe(workload, model, examples, store.account)
        splits[name] = {
            "examples": len(examples),
            "source": examples.source,
            "feature_shape": list(examples.features.shape[1:]),
            "label_histogram": _histogram(examples, workload.classes),
        }
    return {
        "account": store.account,
        "bucket": store.bucket,
        "prefix": prefix,
        "workload": workload.entry,
        "splits": splits,
    }


def _probe(workload: BoundWorkload, model, examples: Examples, account: str) -> None:
    """A forward pass over the first examples and the one with the highest label; a misfit names the file."""
    rows = sorted({*range(min(PROBE_EXAMPLES, len(examples))), int(np.argmax(examples.labels))} if len(examples) else set())
    head = Examples(examples.features[rows], examples.labels[rows], examples.source)
    try:
        workload.evaluate(model, head, who=account)
    except WorkloadError as exc:
        raise DataError(
            f"account {account!r}, {examples.source}: the data does not fit the model of workload "
            f"{workload.entry!r} (a forward pass failed; another shape, or a label beyond the model's classes?): {exc}"
        ) from None


def _histogram(examples: Examples, classes: tuple[str, ...] | None) -> dict[str, int]:
    counts = examples.label_histogram(len(classes) if classes else 0)
    names = classes if classes else [str(i) for i in range(len(counts))]
    return dict(zip(names, counts, strict=True))
