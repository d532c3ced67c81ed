"""The breast-cancer workload: one table per account, federated standardisation, FedAvg on real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from fedring.config import TrainingConfig
from fedring.data.put import put_data
from fedring.data.statistics import mean_bound, variance_bound
from fedring.storage import LocalStore
from fedring.workloads import evaluate_local, resolve_workload
from fedring.workloads.breast_cancer import LABEL, write_account_tables
from fedring.workloads.simulate import federated_average, federated_statistics

ACCOUNTS = ["account-1", "account-2", "account-3"]


def _stores(tmp_path, scheme: str, fmt: str = "csv") -> dict[str, LocalStore]:
    write_account_tables(tmp_path / "src", ACCOUNTS, scheme=scheme, seed=0, fmt=fmt)
    stores = {}
    for name in ACCOUNTS:
        stores[name] = LocalStore(tmp_path / "buckets", f"fedring-{name}", account=name)
        put_data(stores[name], tmp_path / "src" / name)
    return stores


@pytest.mark.parametrize("scheme", ["iid", "dirichlet"])
def test_the_accounts_tables_partition_the_whole_table(tmp_path, scheme):
    counts = write_account_tables(tmp_path, ACCOUNTS, scheme=scheme, seed=0)

    tables = {a: pd.concat([pd.read_csv(tmp_path / a / f"{s}.csv") for s in ("train", "eval")]) for a in ACCOUNTS}

    union = pd.concat(tables.values())
    assert len(union) == 569 and not union.duplicated().any()
    assert all(len(tables[a]) == counts[a]["train"] + counts[a]["eval"] for a in ACCOUNTS)
    benign = [tables[a][LABEL].mean() for a in ACCOUNTS]
    if scheme == "iid":
        assert max(benign) - min(benign) < 0.15
    else:
        assert max(benign) - min(benign) > 0.3  # label skew


def test_standardisation_comes_from_federated_statistics_of_the_union(tmp_path):
    stores = _stores(tmp_path, "dirichlet", fmt="parquet")
    workload = resolve_workload("breast-cancer")

    stats = federated_statistics(workload, stores)
    model = workload.build_model(0, stats)

    union = np.concatenate([workload.load_data(s, "data/").train.features for s in stores.values()])
    labels = np.concatenate([workload.load_data(s, "data/").train.labels for s in stores.values()])
    assert stats.count == len(union)
    assert stats.label_counts.tolist() == np.bincount(labels, minlength=2).tolist()
    mean, var = union.mean(axis=0), union.var(axis=0)
    for f in range(union.shape[1]):
        slack = 1e-9 * (mean[f] ** 2 + var[f])  # numpy's own float64 rounding
        assert abs(stats.mean[f] - mean[f]) <= mean_bound(16, abs(mean[f])) + slack
        assert abs(stats.variance[f] - var[f]) <= variance_bound(16, abs(mean[f]), var[f] + mean[f] ** 2) + slack
    assert torch.equal(model[0].mean, torch.tensor(stats.mean, dtype=torch.float32))
    assert torch.equal(model[0].scale, torch.tensor(stats.std(), dtype=torch.float32))


@pytest.mark.parametrize("scheme", ["iid", "dirichlet"])
def test_fedavg_through_the_interface_learns_and_evaluation_is_the_sum_of_the_accounts(tmp_path, scheme):
    stores = _stores(tmp_path, scheme)
    workload = resolve_workload("breast-cancer")

    sim = federated_average(workload, stores, training=TrainingConfig(rounds=3, batch_size=16, learning_rate=0.01), seed=0)

    last = sim.rounds[-1].evaluation
    per_account = [evaluate_local(workload, s, sim.state, layout=sim.layout, seed=0) for s in stores.values()]
    assert last.examples == sum(s.examples for s in per_account) == 114
    assert last.correct == sum(s.correct for s in per_account)
    assert abs(last.loss_sum - sum(s.loss_sum for s in per_account)) <= 3 * 2**-21
    assert last.accuracy > 0.9  # logistic regression on standardised features: about 0.95-0.99 here
    assert sim.rounds[-1].train.mean_loss < sim.rounds[0].train.mean_loss
