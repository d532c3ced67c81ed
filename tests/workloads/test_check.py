"""``check_account_data``: the owner's counts and histograms, read as the workload will read them."""

from __future__ import annotations

import pytest

from fedring.errors import DataError
from fedring.workloads import resolve_workload
from fedring.workloads.check import check_account_data
from tests.data.helpers import csv_bytes, frame

USER = "tests.workloads.user_workload"


def test_the_report_counts_each_split_and_its_labels(store):
    report = check_account_data(resolve_workload(f"{USER}:TinyWorkload"), store)

    assert report["account"] == "alpha" and report["bucket"] == "bucket-alpha" and report["prefix"] == "data/"
    train, evaluation = report["splits"]["train"], report["splits"]["eval"]
    assert train["examples"] == 8 and evaluation["examples"] == 4
    assert sum(train["label_histogram"].values()) == 8 and set(train["label_histogram"]) == {"no", "yes"}
    assert train["source"] == "data/train/features.npy" and train["feature_shape"] == [2]


def test_data_that_does_not_fit_the_model_fails_the_check_naming_the_file(store):
    wide = resolve_workload(f"{USER}:make_tiny", {"width": 5})

    with pytest.raises(DataError, match=r"account 'alpha', data/train/features.npy: the data does not fit the model .*"
                                        r"make_tiny': evaluate failed on account 'alpha': RuntimeError"):
        check_account_data(wide, store)


def test_a_missing_eval_split_is_reported_as_none(tmp_path):
    from fedring.storage import LocalStore

    store = LocalStore(tmp_path, "b", account="alpha")
    store.put("data/train.csv", csv_bytes(frame(4).rename(columns={"label": "target"})))
    workload = resolve_workload("tests.workloads.test_check:two_columns")

    report = check_account_data(workload, store)

    assert report["splits"]["eval"] is None and report["splits"]["train"]["examples"] == 4


def two_columns():
    from fedring.workloads.tabular import TabularWorkload

    return TabularWorkload(label="target", features=("x1", "x2"), classes=("a", "b", "c"))
