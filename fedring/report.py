"""Round metrics as a table, a CSV and an accuracy plot (no Prefect; used by CLI and flows)."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Sequence
from pathlib import Path

COLUMNS = ("round", "accuracy", "loss", "train_loss", "participants", "dropped", "clipped", "seconds", "bytes_sent")


def rows(committed: Sequence[dict]) -> list[dict]:
    """One flat row per committed round, in COLUMNS order."""
    out = []
    for m in committed:
        out.append(
            {
                "round": m["round"],
                "accuracy": round(m["accuracy"], 4),
                "loss": round(m["loss"], 4),
                "train_loss": round(m.get("train_loss", float("nan")), 4),
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
    """Test accuracy per round as a PNG (Agg backend: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    rounds = [m["round"] for m in committed]
    ax.plot(rounds, [100 * m["accuracy"] for m in committed], marker="o")
    ax.set_xlabel("round")
    ax.set_ylabel("test accuracy (%)")
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
