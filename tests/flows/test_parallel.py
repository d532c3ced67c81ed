"""Client stages in worker processes (flows/execution.py, flows/dispatch.py): where they run,
with how many threads, what a failure in a worker does, and that a parallel round is the
sequential round bit for bit."""

from __future__ import annotations

import os

import pytest

from fedring.config import ExecutionConfig
from fedring.errors import StageFailed
from tests.flows.stage_probe import client_probe

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]

ACCOUNTS = ["alpha", "beta", "gamma", "delta"]


@pytest.fixture(autouse=True)
def _workers_from_config(monkeypatch):
    """conftest runs stages in the test process; here the configuration decides."""
    monkeypatch.delenv("FEDRING_WORKERS", raising=False)
    monkeypatch.delenv("FEDRING_DASK_ADDRESS", raising=False)


def _probe_round(workers: int, fail: dict[str, str] | None = None, threads: int | None = None):
    """Run the probe stage for ACCOUNTS in a round flow on the stage runner of ``workers``."""
    from prefect import flow

    from flows.dispatch import run_clients
    from flows.execution import stage_runner

    settings = ExecutionConfig(workers=workers, threads=threads)

    @flow(persist_result=False)
    def host() -> dict:
        with stage_runner(settings) as runner:
            @flow(task_runner=runner, persist_result=False)
            def round_flow() -> dict:
                return run_clients(client_probe, ACCOUNTS, "embedded", rnd=1, fail=fail or {})

            return round_flow()

    return host()


def test_each_stage_runs_in_a_worker_process_with_bounded_threads():
    from flows.execution import stage_threads

    outcomes = _probe_round(workers=2)

    assert sorted(outcomes) == sorted(ACCOUNTS) and all(o.ok for o in outcomes.values())
    seen = [o.result for o in outcomes.values()]
    pids = {r["pid"] for r in seen}
    assert os.getpid() not in pids
    assert len(pids) == 2  # both workers took a batch
    expected = stage_threads(2)  # cores / concurrent stages: 1 on two cores
    assert {r["torch_threads"] for r in seen} == {expected}
    assert {r["interop_threads"] for r in seen} == {1}
    assert {r["omp_num_threads"] for r in seen} == {str(expected)}
    assert {r["omp_wait_policy"] for r in seen} == {"PASSIVE"}
    # glibc's adaptive allocator, as in the host (Dask's default threshold made training 2x slower)
    assert {r["malloc_trim_threshold"] for r in seen} == {None}


def test_a_light_stage_of_a_small_sum_runs_in_the_host_and_of_a_large_one_in_the_workers(monkeypatch):
    from flows import dispatch
    from flows.client import client_advertise, client_consistency, client_reveal, client_share_keys

    assert dispatch.LIGHT_STAGES == {f.name for f in (client_advertise, client_share_keys, client_consistency, client_reveal)}
    monkeypatch.setattr(dispatch, "LIGHT_STAGES", {client_probe.name})  # the probe stands in for a light stage

    small = _probe_round(workers=2)
    monkeypatch.setattr(dispatch, "LIGHT_IN_HOST_UP_TO", len(ACCOUNTS) - 1)
    large = _probe_round(workers=2)

    assert {o.result["pid"] for o in small.values()} == {os.getpid()}
    assert os.getpid() not in {o.result["pid"] for o in large.values()}
    assert all(o.ok for o in (*small.values(), *large.values()))


def test_configured_threads_bound_each_worker():
    outcomes = _probe_round(workers=1, threads=2)

    assert {o.result["torch_threads"] for o in outcomes.values()} == {2}
    assert len({o.result["pid"] for o in outcomes.values()}) == 1


def test_an_account_offline_in_a_worker_is_a_dropout_and_the_others_go_on():
    outcomes = _probe_round(workers=2, fail={"beta": "offline"})

    assert not outcomes["beta"].ok and "beta is offline" in outcomes["beta"].error
    assert all(outcomes[a].ok for a in ACCOUNTS if a != "beta")


def test_a_bug_in_a_worker_stops_the_stage_naming_account_and_flow():
    with pytest.raises(StageFailed, match=r"client-probe of account 'gamma' failed: RuntimeError: a bug in the stage of gamma"):
        _probe_round(workers=2, fail={"gamma": "bug"})
