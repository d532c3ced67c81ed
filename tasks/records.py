"""Host tasks that read and write the round's decision records (see fedring/round/records.py).

Tasks, not calls in the flow body, so that a transient storage error is retried like
every other write of the round instead of failing it.
"""

from __future__ import annotations

from prefect import task

from fedring.round import records as core
from fedring.storage import Store
from tasks._retry import RETRY_OPTIONS


@task(name="read-record", task_run_name="read-record-{stage}-{name}", persist_result=False, **RETRY_OPTIONS)
def read_record(store: Store, run: str, rnd: int, stage: str, name: str) -> dict | None:
    """The decision recorded for (round, stage, name), or None."""
    return core.read_record(store, run, rnd, stage, name)


@task(name="record", task_run_name="record-{stage}-{name}", persist_result=False, **RETRY_OPTIONS)
def write_record(store: Store, run: str, rnd: int, stage: str, name: str, record: dict) -> dict:
    """Record a decision once; returns the one that stands (a rerun's earlier record)."""
    return core.write_record(store, run, rnd, stage, name, record)
