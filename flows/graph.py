"""The round's graph in the Prefect UI: each step's task runs wait for the step before.

Prefect draws an edge into a task run from every task run it received a result from or
was told to wait for (``wait_for``). The round's steps hand their data over through the
buckets, not as arguments, so without help the UI shows a timeline of unconnected task
runs. Here each flow run keeps its *upstream*: the task runs of its last step. A host
task (``step``) waits for the upstream and becomes the upstream; a client stage's task
runs (``client_step``, one per account) all wait for the same upstream and, once the
stage is over (``end_stage``), become the upstream together. Only completed task runs
are waited for: a dropped account's failed stage must not stop the next one.

This changes no order of execution (steps run one after another anyway); it only makes
the order visible. Per process: a client stage run in a Dask worker or by an agent
starts with no upstream.
"""

from __future__ import annotations

import threading
from typing import Any

from prefect import State, Task
from prefect.context import FlowRunContext

_lock = threading.Lock()
_state: dict[str, Any] = {"flow_run": None, "upstream": [], "stage": []}


def _current() -> dict[str, Any]:
    """The graph state of this process's current flow run (a new flow run starts empty)."""
    ctx = FlowRunContext.get()
    flow_run = ctx.flow_run.id if ctx and ctx.flow_run else None
    if flow_run != _state["flow_run"]:
        _state.update(flow_run=flow_run, upstream=[], stage=[])
    return _state


def upstream() -> list[Any]:
    """What the next step waits for: the task runs (states or futures) of the last step.

    It also makes these the only task runs the next step is drawn from. Prefect finds a
    task run's inputs by the ``id()`` of every object it is handed, the states' results
    included, and remembers a result's id after a dict, list or float result is freed
    (PrefectHQ/prefect#20558): a new object at a recycled address drew an edge from a
    long-finished task run (CI: ``evaluate-round-1`` from ``sums-alpha-round-1-eval``;
    137 of 300 task runs in a loop here). The round hands its data over through the
    buckets, so those links draw nothing that is true; they are forgotten.
    """
    ctx = FlowRunContext.get()
    with _lock:
        if ctx is not None:
            ctx.run_results.clear()
        return list(_current()["upstream"])


def set_upstream(runs: list[Any]) -> None:
    """Make ``runs`` (states or futures of completed task runs) what the next step waits for."""
    with _lock:
        _current()["upstream"] = list(runs)


def step(task: Task, *args: Any, **kwargs: Any) -> Any:
    """Call a host task after the last step; it becomes the upstream. Returns its result."""
    state = task(*args, wait_for=upstream(), return_state=True, **kwargs)
    value = state.result()  # raises the task's own exception if it failed
    set_upstream([_without_result(state)])
    return value


def client_step(task: Task, *args: Any, **kwargs: Any) -> Any:
    """Call one account's task of a client stage after the last step; joins the stage on success."""
    state = task(*args, wait_for=upstream(), return_state=True, **kwargs)
    value = state.result()
    with _lock:
        _current()["stage"].append(_without_result(state))
    return value


def _without_result(state: State) -> State:
    """A completed task run to wait for, without its result.

    Prefect reads the result of every state a task run waits for and walks it
    (``resolve_to_final_result``). The steps' results list the accounts, and a client
    stage waits for all n runs of the one before, so every account's task run walked
    O(n) objects and a stage O(n²); in a worker process the
    states also piled up with their results for the whole round. The round hands its
    data over through the buckets: waiting needs only that the run completed, so the
    state keeps a placeholder (``True``; ``None`` reads as a missing result).
    """
    return state.model_copy(update={"data": True})


def end_stage(runs: list[State] | None = None) -> None:
    """A client stage is over: its completed task runs (or ``runs``, their states) are the next step's upstream.

    A stage with no completed run (all its accounts dropped, or all replayed from records)
    leaves the upstream as it was.
    """
    with _lock:
        state = _current()
        done = state["stage"] if runs is None else [_without_result(run) for run in runs]
        if done:
            state["upstream"] = list(done)
        state["stage"] = []

