"""Show an interrupted host run as cancelled in Prefect.

When Ctrl-C or SIGTERM stops ``fedring run``, Prefect's engine records the flow runs it
was executing as Crashed (an interrupt is a crash to it), and task runs that were waiting
stay Running. Nothing crashed: the run stopped on request and resumes from its records.
So the CLI, once the flow has returned, marks this process's runs of the federation
(``<run>`` and ``<run>-round-<n>``, started since the command began) and their unfinished
task runs Cancelled, which is what the UI then shows.
"""

from __future__ import annotations

from datetime import datetime

from prefect import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterName,
    FlowRunFilterStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
    TaskRunFilter,
    TaskRunFilterState,
    TaskRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.states import Cancelled

INTERRUPTED = [StateType.CRASHED, StateType.RUNNING, StateType.PENDING, StateType.SCHEDULED]


def mark_cancelled(run: str, since: datetime, why: str) -> int:
    """Mark the interrupted flow runs of ``run`` started after ``since``, and their task runs, Cancelled."""
    message = f"Cancelled: {why}; rerun the same command to resume run {run}"
    with get_client(sync_client=True) as client:
        flow_runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            name=FlowRunFilterName(like_=run),
            start_time=FlowRunFilterStartTime(after_=since),
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=INTERRUPTED)),
        ))
        ours = [r for r in flow_runs if r.name == run or r.name.startswith(f"{run}-round-")]
        for flow_run in ours:
            task_runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])),
                task_run_filter=TaskRunFilter(state=TaskRunFilterState(type=TaskRunFilterStateType(any_=INTERRUPTED))),
            )
            for task_run in task_runs:
                client.set_task_run_state(task_run.id, Cancelled(message=message), force=True)
            client.set_flow_run_state(flow_run.id, Cancelled(message=message), force=True)
    return len(ours)
