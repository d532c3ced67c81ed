"""Round metrics as a table, a CSV, a summary document and a plot (no Prefect; used by CLI and flows).

``summary.json`` in a run directory records the final metrics and the settings that
shape them (seed, accounts, partition, training). A run of the same settings in the
other mode (secure vs ``--plaintext``) in a directory beside it is its *counterpart*:
the plot draws both, so the cost of secure aggregation in accuracy is visible.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fedring.config import FederationConfig

COLUMNS = (
    "round", "accuracy", "loss", "fed_accuracy", "fed_loss", "train_loss", "participants", "dropped", "clipped",
    "seconds", "bytes_sent",
)
SUMMARY = "summary.json"


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def federated_evaluations(committed: Sequence[dict]) -> list[dict]:
    """Per committed round, the federated evaluation of its model ({} while unknown or turned off).

    The last round's manifest holds its own (``federated``); an earlier round's model is
    evaluated in the next round's sum, so its evaluation is in the next manifest
    (``federated_previous``, see ``fedring.round.evaluate``).
    """
    carried = {int(m["round"]) - 1: m["federated_previous"] for m in committed if m.get("federated_previous")}
    return [m.get("federated") or carried.get(int(m["round"])) or {} for m in committed]


def rows(committed: Sequence[dict]) -> list[dict]:
    """One flat row per committed round, in COLUMNS order.

    ``accuracy``/``loss``: on the host's own test set (None without one); ``fed_*``: the
    federated evaluation, over every account's eval split together (None if turned off,
    and for the latest round until the next round has carried it).
    """
    out = []
    for m, federated in zip(committed, federated_evaluations(committed)):
        out.append(
            {
                "round": m["round"],
                "accuracy": _rounded(m.get("accuracy")),
                "loss": _rounded(m.get("loss")),
                "fed_accuracy": _rounded(federated.get("accuracy")),
                "fed_loss": _rounded(federated.get("loss")),
                "train_loss": _rounded(m.get("train_loss")),
                "participants": len(m["participants"]),
                "dropped": ",".join(m.get("dropped", [])) or "-",
                "clipped": m.get("clipped", 0),
                "seconds": round(m["seconds"], 1),
                "bytes_sent": sum(m.get("bytes_sent", {}).values()),
            }
        )
    return out


def write_csv(committed: Sequence[dict], path: Path) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows(committed))
    return path


def _settings(cfg: FederationConfig) -> dict:
    """What decides a run's numbers apart from secure aggregation (two runs alike here compare)."""
    dumped = cfg.model_dump(mode="json")
    return {"seed": cfg.seed, "accounts": [a.name for a in cfg.accounts], "workload": dumped["workload"],
            "partition": dumped["partition"], "training": dumped["training"]}


def summary(cfg: FederationConfig, committed: Sequence[dict], *, metrics_csv: Path, plot: Path) -> dict:
    """The final metrics as one JSON-ready document (``--json`` prints it; ``summary.json`` keeps it)."""
    table = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in rows(committed)]
    last = table[-1] if table else {}
    return {
        "run": cfg.run,
        "secure": cfg.secagg.secure,
        "rounds_committed": len(table),
        "accuracy": last.get("accuracy"),
        "loss": last.get("loss"),
        "fed_accuracy": last.get("fed_accuracy"),
        "fed_loss": last.get("fed_loss"),
        "rounds": table,
        "settings": _settings(cfg),
        "metrics_csv": str(metrics_csv),
        "plot": str(plot),
    }


def find_counterpart(doc: dict, run_dir: Path) -> dict | None:
    """The latest summary beside ``run_dir`` with the same settings in the other mode, if any."""
    found = []
    for path in run_dir.parent.glob(f"*/{SUMMARY}"):
        if path.parent.resolve() == run_dir.resolve():
            continue
        try:
            other = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(other, dict) and other.get("secure") != doc["secure"] and other.get("settings") == doc["settings"]:
            found.append((path.stat().st_mtime, other))
    return max(found, key=lambda item: item[0])[1] if found else None


def _nan(value: float | None, scale: float = 1.0) -> float:
    return float("nan") if value is None else scale * value


def _mode(secure: bool) -> str:
    return "secure aggregation" if secure else "plaintext FedAvg"


def accuracy_png(committed: Sequence[dict], title: str, baseline: dict | None = None) -> bytes:
    """Accuracy and loss per round as a PNG (Agg backend: no display needed): on the host's test set
    (if it has one) and federated (over the accounts' eval splits, if evaluated).

    ``baseline``: a counterpart's summary (see ``find_counterpart``), drawn dashed.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (acc_ax, loss_ax) = plt.subplots(1, 2, figsize=(9, 3.5), dpi=100)
    series = [(rows(committed), bool(committed and committed[0].get("secure", True)), "-", "o")]
    if baseline is not None:
        series.append((baseline["rounds"], bool(baseline["secure"]), "--", "s"))
    for table, secure, style, marker in series:
        rounds = [r["round"] for r in table]
        label = _mode(secure)
        for key, where, alpha in (("", "host test set", 1.0), ("fed_", "federated", 0.7)):
            accuracy = [r.get(f"{key}accuracy") for r in table]
            if all(v is None for v in accuracy):
                continue  # no host test set, or no federated evaluation
            acc_ax.plot(rounds, [_nan(v, 100) for v in accuracy], style, marker=marker, alpha=alpha, label=f"{where}, {label}")
            loss_ax.plot(rounds, [_nan(r.get(f"{key}loss")) for r in table], style, marker=marker, alpha=alpha,
                         label=f"{where}, {label}")
        train = [(r["round"], r["train_loss"]) for r in table if r.get("train_loss") is not None]
        if train and not any(math.isnan(v) for _, v in train):
            loss_ax.plot(*zip(*train, strict=True), style, alpha=0.4, label=f"training, {label}")
    acc_ax.set_ylabel("accuracy (%)")
    loss_ax.set_ylabel("loss")
    for ax in (acc_ax, loss_ax):
        ax.set_xlabel("round")
        ax.set_xticks([r["round"] for r in rows(committed)])
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def markdown_summary(run: str, committed: Sequence[dict]) -> str:
    """A markdown table of the rounds with the accuracy plot inlined as a data URI."""
    table = rows(committed)
    lines = [f"# Run `{run}`", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(r[c]) for c in COLUMNS) + " |" for r in table]
    if committed:
        png = base64.b64encode(accuracy_png(committed, f"run {run}")).decode()
        lines += ["", f"![accuracy per round](data:image/png;base64,{png})"]
    return "\n".join(lines)
