"""What ``demo``/``run`` leave in a run directory: summary.json, and the plot with its counterpart run."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

from PIL import Image

from fedring.config import build_config
from fedring.report import SUMMARY, accuracy_png, find_counterpart, summary


def committed(secure: bool, accuracies: list[float]) -> list[dict]:
    return [{"round": r, "accuracy": a, "loss": 1 - a, "train_loss": 1.1 - a, "participants": ["a", "b"],
             "dropped": [], "clipped": 4, "seconds": 1.0, "secure": secure} for r, a in enumerate(accuracies, 1)]


def write(run_dir: Path, doc: dict) -> None:
    run_dir.mkdir(parents=True)
    (run_dir / SUMMARY).write_text(json.dumps(doc))


def test_a_counterpart_is_the_other_mode_with_the_same_settings(tmp_path: Path) -> None:
    settings = {"accounts": [{"name": "a"}, {"name": "b"}], "training": {"rounds": 2}}
    secure = summary(build_config(run="s", **settings), committed(True, [0.9, 0.95]),
                     metrics_csv=Path("m.csv"), plot=Path("p.png"))
    plain = summary(build_config(run="p", secagg={"secure": False}, **settings), committed(False, [0.91, 0.96]),
                    metrics_csv=Path("m.csv"), plot=Path("p.png"))
    other_seed = summary(build_config(run="q", seed=1, secagg={"secure": False}, **settings),
                         committed(False, [0.9, 0.9]), metrics_csv=Path("m.csv"), plot=Path("p.png"))
    write(tmp_path / "runs" / "q", other_seed)
    write(tmp_path / "runs" / "s", secure)  # the same mode is never a counterpart
    (tmp_path / "runs" / "broken").mkdir()
    (tmp_path / "runs" / "broken" / SUMMARY).write_text("{not json")

    assert find_counterpart(secure, tmp_path / "runs" / "s") is None
    write(tmp_path / "runs" / "p", plain)
    assert find_counterpart(secure, tmp_path / "runs" / "s")["run"] == "p"
    assert find_counterpart(plain, tmp_path / "runs" / "p")["run"] == "s"


def test_summary_is_strict_json_and_names_the_final_round() -> None:
    rounds = committed(True, [0.9, 0.95])
    del rounds[0]["train_loss"]  # older manifests have none

    doc = summary(build_config(run="s"), rounds, metrics_csv=Path("m.csv"), plot=Path("p.png"))

    assert json.loads(json.dumps(doc, allow_nan=False)) == doc
    assert (doc["rounds_committed"], doc["accuracy"], doc["rounds"][0]["train_loss"]) == (2, 0.95, None)


def test_the_plot_has_accuracy_and_loss_panels_with_or_without_a_baseline(tmp_path: Path) -> None:
    baseline = summary(build_config(run="p", secagg={"secure": False}), committed(False, [0.91, 0.96]),
                       metrics_csv=Path("m.csv"), plot=Path("p.png"))

    alone = Image.open(io.BytesIO(accuracy_png(committed(True, [0.9, 0.95]), "run s")))
    both = Image.open(io.BytesIO(accuracy_png(committed(True, [0.9, 0.95]), "run s", baseline=baseline)))

    assert alone.size == both.size == (900, 350)
    assert not math.isclose(sum(alone.convert("L").getdata()), sum(both.convert("L").getdata()))
