"""The round's graph draws only the edges the round waits for, however many steps it has.

Prefect remembers a freed result's ``id()``; without ``flows.graph`` forgetting those links,
a step whose result holds a fresh dict, list or float was drawn from an older, unrelated
task run (PrefectHQ/prefect#20558; it failed this project's CI once).
"""

from __future__ import annotations

import time

import pytest
from prefect import flow, task

from flows.graph import step

pytestmark = pytest.mark.usefixtures("prefect_harness")

STEPS = 60


@task(task_run_name="step-{i}", persist_result=False)
def _results_like_the_rounds(i: int, x: float) -> dict:
    """A result like a round's sums: a dict of fresh floats and lists, freed by the next step."""
    return {"loss": x * 1.5, "sums": [x, x + 1.0], "meta": {"seconds": x / 3.0}}


@flow(name="graph-steps", persist_result=False)
def _steps() -> str:
    from prefect.runtime import flow_run

    for i in range(STEPS):
        step(_results_like_the_rounds, i, float(i) + 0.25)
    return flow_run.id


def test_each_step_is_drawn_only_from_the_step_before():
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    run_id = _steps()
    expected = {f"step-{i}": ({f"step-{i - 1}"} if i else set()) for i in range(STEPS)}
    with get_client(sync_client=True) as client:
        edges: dict[str, set[str]] = {}
        for _ in range(120):  # task runs and their inputs reach the API in batches of events
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
            names = {r.id: r.name for r in runs}
            edges = {r.name: {names.get(i.id, str(i.id)) for inputs in r.task_inputs.values() for i in inputs}
                     for r in runs}
            if edges == expected:
                break
            time.sleep(0.5)
    assert edges == expected
