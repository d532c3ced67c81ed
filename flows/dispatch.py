"""Run a client stage for one account: as tasks in the host's flow, as a subflow, or on its pool.

``embedded`` (the default): the client flow's body runs inside the host's round flow,
so its stage shows up there as a task named after the stage and the account. A task
run costs about 3 ms; a subflow costs about 0.16 s of API round trips, and with one
per account and stage (4·N a round) that was a tenth of a 10-account round
(``benchmarks/bench_round.py``). ``subflows``: each client stage is a flow run of its
own in the same process (flow heartbeats off: a sync subflow otherwise waits about
1 s for its heartbeat thread), which shows client flow runs in the UI as deployments
would. ``deployments``: the host asks Prefect to run the account's deployment on that
account's work pool and waits for it, as a real federation does.

Whatever the mode, a stage ends as an Outcome: a client that failed after its retries
is ``ok=False``, which the round turns into a dropout; an IntegrityError (tampering,
replay) is raised instead, because it must stop the round.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from prefect import Flow
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.states import State

from fedring.errors import IntegrityError
from fedring.round.records import read_record, write_record
from fedring.storage import Store

Mode = Literal["embedded", "subflows", "deployments"]


@dataclass(frozen=True)
class Outcome:
    """How one client stage of one account ended; ``result`` is its small public result."""

    ok: bool
    result: dict
    error: str = ""


@dataclass(frozen=True)
class RecordBook:
    """The host's stage records of one round (see fedring.round.records)."""

    store: Store
    run: str
    rnd: int

    def read(self, stage: str, name: str) -> dict | None:
        return read_record(self.store, self.run, self.rnd, stage, name)

    def write(self, stage: str, name: str, outcome: Outcome) -> dict:
        return write_record(self.store, self.run, self.rnd, stage, name, ok=outcome.ok, result=outcome.result, error=outcome.error)


def deployment_name(flow: Flow, account: str) -> str:
    """Client deployments are named ``<flow name>/<account>`` (see prefect.yaml)."""
    return f"{flow.name}/{account}"


def _in_host_flow(flow: Flow, account: str, **params: Any) -> Outcome:
    try:
        value = flow.fn(account=account, **params)
    except IntegrityError:
        raise
    except Exception as exc:  # the stage failed after its retries: a dropout
        return Outcome(ok=False, result={}, error=f"{type(exc).__name__}: {exc}")
    return Outcome(ok=True, result=value if isinstance(value, dict) else {})


def _from_state(state: State) -> Outcome:
    if state.is_completed():
        try:
            value = state.result(raise_on_failure=False)
        except Exception:  # a remote run's result is not stored: only the state is known
            value = {}
        return Outcome(ok=True, result=value if isinstance(value, dict) else {})
    try:
        state.result(raise_on_failure=True)
    except IntegrityError:
        raise
    except Exception:
        pass
    return Outcome(ok=False, result={}, error=state.message or state.name or "failed")


def run_client(flow: Flow, account: str, mode: Mode, **params: Any) -> Outcome:
    try:
        return _dispatch(flow, account, mode, **params)
    except IntegrityError as exc:
        raise IntegrityError(f"{flow.name} of account {account!r}: {exc}") from exc


def _dispatch(flow: Flow, account: str, mode: Mode, **params: Any) -> Outcome:
    if mode == "embedded":
        return _in_host_flow(flow, account, **params)
    if mode == "subflows":
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            return _from_state(flow(account=account, return_state=True, **params))
    from prefect.deployments import run_deployment

    params = {k: (v.model_dump(mode="json") if hasattr(v, "model_dump") else v) for k, v in params.items()}
    flow_run = run_deployment(
        deployment_name(flow, account), parameters={"account": account, **params}, timeout=None, poll_interval=1
    )
    return _from_state(flow_run.state)


def run_clients(flow: Flow, accounts: Sequence[str], mode: Mode, **params: Any) -> dict[str, Outcome]:
    """One client stage per account; in parallel on deployments, in sequence in process.

    In process the accounts share two cores and torch already uses both, so running
    them one after another is as fast and keeps memory flat.
    """
    if mode != "deployments":
        return {a: run_client(flow, a, mode, **params) for a in accounts}
    with ThreadPoolExecutor(max_workers=max(1, len(accounts))) as pool:
        futures = {a: pool.submit(run_client, flow, a, mode, **params) for a in accounts}
        return {a: f.result() for a, f in futures.items()}


def run_stage(
    flow: Flow,
    accounts: Sequence[str],
    mode: Mode,
    *,
    records: RecordBook,
    stage: str,
    label: Callable[[str], str] = lambda account: account,
    **params: Any,
) -> dict[str, dict]:
    """Run a client stage where no record says how it went; record each outcome.

    Returns account -> record (``ok``, ``result``, ``error``). Recorded outcomes are
    replayed on a rerun, so the round makes the same decisions as before.
    """
    outcomes: dict[str, dict] = {}
    todo = []
    for account in accounts:
        found = records.read(stage, label(account))
        if found is not None:
            outcomes[account] = found
        else:
            todo.append(account)
    for account, outcome in run_clients(flow, todo, mode, **params).items():
        outcomes[account] = records.write(stage, label(account), outcome)
    return outcomes
