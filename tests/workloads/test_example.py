"""The example a user copies (examples/digits-workload) works now: prepare, put, check, train."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from fedring.config import TrainingConfig
from fedring.data.put import put_data
from fedring.storage import LocalStore
from fedring.workloads import resolve_workload
from fedring.workloads.check import check_account_data
from fedring.workloads.simulate import federated_average

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits-workload"
ACCOUNTS = ["account-1", "account-2", "account-3"]


@pytest.mark.slow  # writes and reads 1,797 image objects
def test_the_digits_example_end_to_end_through_its_own_package(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))  # as `pip install -e examples/digits-workload` would
    prepare = runpy.run_path(str(EXAMPLE / "prepare.py"))["prepare"]
    counts = prepare(tmp_path / "prepared", ACCOUNTS, skew=True)
    stores = {}
    for name in ACCOUNTS:
        stores[name] = LocalStore(tmp_path / "buckets", f"fedring-{name}", account=name)
        put_data(stores[name], tmp_path / "prepared" / name)
    workload = resolve_workload("digits_workload.workload:DigitsWorkload")

    report = check_account_data(workload, stores["account-1"])
    sim = federated_average(workload, stores, training=TrainingConfig(rounds=3, learning_rate=0.005), seed=0)

    assert report["splits"]["train"]["examples"] == counts["account-1"]["train"]
    assert sum(report["splits"]["train"]["label_histogram"].values()) == counts["account-1"]["train"]
    last = sim.rounds[-1].evaluation
    assert last.examples == sum(c["eval"] for c in counts.values())
    assert last.correct <= last.extra["top2_correct"] <= last.examples
    assert last.accuracy > 0.6  # three rounds on 1,437 real training images
