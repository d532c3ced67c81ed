"""Round metrics as a table, a CSV and an accuracy plot (no Prefect; used by CLI and flows)."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Sequence
from pathlib import Path

COLUMNS = (
    "round", "accuracy", "loss", "fed_accuracy", "fed_loss", "train_loss", "participants", "dropped", "clipped",
    "seconds", "bytes_sent",
)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def rows(committed: Sequence[dict]) -> list[dict]:
    """One flat row per committed round, in COLUMNS order.

    ``accuracy``/``loss``: on the host's own test set (None without one); ``fed_*``: the
    federated evaluation, over every account's eval split together (None if turned off).
    """
    out = []
    for m in committed:
        federated = m.get("federated") or {}
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


def accuracy_png(committed: Sequence[dict], title: str) -> bytes:
    """Accuracy per round as a PNG (Agg backend: no display needed): host test set and federated."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    rounds = [m["round"] for m in committed]
    for label, values in (("host test set", [r["accuracy"] for r in rows(committed)]),
                          ("federated (accounts' eval splits)", [r["fed_accuracy"] for r in rows(committed)])):
        if any(v is not None for v in values):
            ax.plot(rounds, [100 * v if v is not None else float("nan") for v in values], marker="o", label=label)
    ax.legend(loc="lower right")
    ax.set_xlabel("round")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title)
    ax.set_xticks(rounds)
    ax.grid(alpha=0.3)
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
