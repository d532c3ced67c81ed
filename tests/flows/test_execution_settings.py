"""Where client stages run, from configuration and environment; how accounts are split into batches."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fedring.config import ExecutionConfig, build_config
from fedring.errors import ConfigError
from flows.dispatch import _balanced
from flows.execution import cores, resolve, stage_threads


def test_auto_means_one_worker_per_core_and_at_most_one_per_account():
    assert resolve(ExecutionConfig(), accounts=50, environ={}).workers == cores()
    assert resolve(ExecutionConfig(), accounts=1, environ={}).workers == 1
    assert resolve(ExecutionConfig(workers=3), accounts=50, environ={}).workers == 3


def test_the_environment_wins_over_the_file():
    env = {"FEDRING_WORKERS": "0", "FEDRING_DASK_ADDRESS": "tcp://10.0.0.5:8786"}
    settings = resolve(ExecutionConfig(workers=2, address="tcp://other:1"), accounts=5, environ=env)
    assert settings.workers == 0 and settings.address == "tcp://10.0.0.5:8786"
    assert resolve(ExecutionConfig(workers=0), accounts=5, environ={"FEDRING_WORKERS": "auto"}).workers == min(cores(), 5)


@pytest.mark.parametrize("raw", ["-1", "two", "1.5"])
def test_a_bad_workers_variable_is_named(raw):
    with pytest.raises(ConfigError, match=f"FEDRING_WORKERS must be 'auto' or a whole number >= 0, got '{raw}'"):
        resolve(ExecutionConfig(), accounts=3, environ={"FEDRING_WORKERS": raw})


def test_bad_execution_options_are_named():
    with pytest.raises(ConfigError, match="execution.workers"):
        build_config(execution={"workers": -2})
    with pytest.raises(ConfigError, match="execution.threads"):
        build_config(execution={"threads": 0})


def test_threads_are_cores_divided_by_concurrent_stages():
    assert stage_threads(1) == cores()
    assert stage_threads(cores()) == 1
    assert stage_threads(10 * cores()) == 1


@given(st.lists(st.integers(min_value=1, max_value=5000), min_size=1, max_size=60), st.integers(min_value=1, max_value=8))
def test_batches_hold_every_account_once_in_order_and_about_equal_work(samples, parts):
    accounts = [f"acct-{i:02d}" for i in range(len(samples))]
    weight = dict(zip(accounts, samples)).__getitem__

    batches = _balanced(accounts, parts, weight)

    assert sorted(a for b in batches for a in b) == accounts
    assert len(batches) == min(parts, len(accounts)) and all(batches)
    assert all(b == sorted(b) for b in batches)  # each batch keeps the accounts' order
    loads = [sum(map(weight, b)) for b in batches]
    assert max(loads) <= sum(samples) / len(batches) + max(samples)  # greedy, largest first
