"""Where client stages show up in Prefect: task runs of the round (embedded) or flow runs (subflows)."""

from __future__ import annotations

import time

import pytest

from fedring.config import build_config
from fedring.split import simulate_accounts

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _cfg(tmp_path, run: str, *, secure: bool = False):
    cfg = build_config(
        run=run,
        accounts=[{"name": "alpha"}, {"name": "beta"}],
        partition={"scheme": "iid", "limit": 400},
        training={"rounds": 1, "eval_limit": 500},
        secagg={"secure": secure},
        workload={"name": "mnist", "federated_evaluation": True},  # the federated evaluation sum too
        storage={"root": str(tmp_path / "storage")},
    )
    simulate_accounts(cfg)  # the demo's simulation step: each account's part of MNIST
    return cfg


def _round_run_id(client, name: str):
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    (run,) = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name])))
    return run.id


EMBEDDED_TASKS = {"broadcast-round-1", "train-alpha-round-1", "train-beta-round-1", "aggregate-round-1",
                  # the federated evaluation of the new model (plain: sums published in the clear)
                  "eval-broadcast-round-1", "sums-alpha-round-1-eval", "sums-beta-round-1-eval", "evaluation-round-1",
                  "evaluate-round-1", "commit-round-1"}


def _task_run_names(client, flow_run_id) -> set[str]:
    """Task run names as the UI shows them (stable: no random suffix); task runs reach the API in batches, so wait."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    names: set[str] = set()
    for _ in range(60):
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        names = {r.name for r in runs}
        if EMBEDDED_TASKS <= names:
            break
        time.sleep(0.5)
    return names


def test_embedded_client_stages_are_task_runs_of_the_round(tmp_path):
    from prefect import get_client

    from flows.host import federated_training

    manifest = federated_training(_cfg(tmp_path, "dispatch-embedded"))
    assert manifest["committed"][0]["participants"] == ["alpha", "beta"]
    with get_client(sync_client=True) as client:
        names = _task_run_names(client, _round_run_id(client, "dispatch-embedded-round-1"))
    assert names == EMBEDDED_TASKS  # every task run of the round, each named after what it does (no random suffix)


def test_a_secure_rounds_two_sums_name_their_client_task_runs_apart(tmp_path):
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.host import federated_training

    federated_training(_cfg(tmp_path, "dispatch-sums", secure=True))
    stages = [f"{s}-{a}-round-1" for s in ("advertise", "share-keys", "contribute", "consistency", "reveal")
              for a in ("alpha", "beta")]
    expected = {*stages, *(f"{name}-eval" for name in stages)}  # the training sum's, then the evaluation sum's
    with get_client(sync_client=True) as client:
        round_id = _round_run_id(client, "dispatch-sums-round-1")
        for _ in range(60):  # task runs reach the API in batches
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[round_id])))
            if expected <= (names := {r.name for r in runs}):
                break
            time.sleep(0.5)
    assert expected <= names, sorted(expected - names)


def test_the_round_is_drawn_as_a_graph_each_step_waiting_for_the_one_before(tmp_path):
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.host import federated_training

    expected = {
        "broadcast-round-1": set(),
        "train-alpha-round-1": {"broadcast-round-1"},
        "train-beta-round-1": {"broadcast-round-1"},
        "aggregate-round-1": {"train-alpha-round-1", "train-beta-round-1"},
        "eval-broadcast-round-1": {"aggregate-round-1"},  # the federated evaluation of the new model
        "sums-alpha-round-1-eval": {"eval-broadcast-round-1"},
        "sums-beta-round-1-eval": {"eval-broadcast-round-1"},
        "evaluation-round-1": {"sums-alpha-round-1-eval", "sums-beta-round-1-eval"},
        "evaluate-round-1": {"evaluation-round-1"},
        "commit-round-1": {"evaluate-round-1"},
    }
    federated_training(_cfg(tmp_path, "dispatch-graph"))
    with get_client(sync_client=True) as client:
        round_id = _round_run_id(client, "dispatch-graph-round-1")
        edges: dict[str, set[str]] = {}
        for _ in range(120):  # task runs and their inputs reach the API in batches of events (slow under load)
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[round_id])))
            names = {r.id: r.name for r in runs}
            edges = {r.name: {names.get(i.id, str(i.id)) for i in r.task_inputs.get("wait_for", [])} for r in runs}
            if edges == expected:
                break
            time.sleep(0.5)
    assert edges == expected


def test_client_stage_logs_reach_the_ui_at_info(tmp_path):
    from prefect import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    from flows.host import federated_training

    federated_training(_cfg(tmp_path, "dispatch-logs"))
    with get_client(sync_client=True) as client:
        round_id = _round_run_id(client, "dispatch-logs-round-1")
        for _ in range(60):  # logs reach the API in batches
            logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[round_id])))
            if any("account alpha round 1 train" in log.message for log in logs):
                break
            time.sleep(0.5)
    assert any(log.level == 20 and "account alpha round 1 train: loss" in log.message for log in logs)


def test_subflow_dispatch_runs_each_client_stage_as_a_flow_run(tmp_path):
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterParentTaskRunId

    from flows.host import federated_training

    manifest = federated_training(_cfg(tmp_path, "dispatch-subflows"), dispatch="subflows")
    assert manifest["committed"][0]["participants"] == ["alpha", "beta"]
    with get_client(sync_client=True) as client:
        round_id = _round_run_id(client, "dispatch-subflows-round-1")
        parents = [t.id for t in client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[round_id])))]
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_task_run_id=FlowRunFilterParentTaskRunId(any_=parents))
        )
    # training, then the federated evaluation of the new model (client-sums)
    assert sorted(r.name for r in children) == ["alpha-round-1", "alpha-round-1-eval", "beta-round-1", "beta-round-1-eval"]
    assert all(r.state.is_completed() for r in children)
