"""Run a client-side flow for one account: in process (embedded) or on its work pool.

Embedded: the client flow runs as a subflow of the host's round, with flow heartbeats
off (in-process subflows are watched by their parent; a heartbeat thread costs about
1 s per subflow here). Deployments: the host asks Prefect to run the account's
deployment on that account's work pool and waits for it, as a real federation does.
Either way the result is a Prefect state: a client that failed after its retries is a
failed state, which the round turns into a dropout.
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
from fedring.records import read_record, write_record
from fedring.storage import Store

Mode = Literal["embedded", "deployments"]


@dataclass(frozen=True)
class RecordBook:
    """The host's stage records of one round (see fedring.records)."""

    store: Store
    run: str
    rnd: int

    def read(self, stage: str, name: str) -> dict | None:
        return read_record(self.store, self.run, self.rnd, stage, name)

    def write(self, stage: str, name: str, **outcome: Any) -> dict:
        return write_record(self.store, self.run, self.rnd, stage, name, **outcome)


def deployment_name(flow: Flow, account: str) -> str:
    """Client deployments are named ``<flow name>/<account>`` (see prefect.yaml)."""
    return f"{flow.name}/{account}"


def run_client(flow: Flow, account: str, mode: Mode, **params: Any) -> State:
    if mode == "embedded":
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            return flow(account=account, return_state=True, **params)
    from prefect.deployments import run_deployment

    params = {k: (v.model_dump(mode="json") if hasattr(v, "model_dump") else v) for k, v in params.items()}
    flow_run = run_deployment(
        deployment_name(flow, account), parameters={"account": account, **params}, timeout=None, poll_interval=1
    )
    return flow_run.state


def run_clients(flow: Flow, accounts: Sequence[str], mode: Mode, **params: Any) -> dict[str, State]:
    """One client flow per account; in parallel on deployments, in sequence in process.

    In process the accounts share two cores and torch already uses both, so running
    them one after another is as fast and keeps memory flat.
    """
    if mode == "embedded":
        return {a: run_client(flow, a, mode, **params) for a in accounts}
    with ThreadPoolExecutor(max_workers=max(1, len(accounts))) as pool:
        futures = {a: pool.submit(run_client, flow, a, mode, **params) for a in accounts}
        return {a: f.result() for a, f in futures.items()}


def _result(state: State) -> dict:
    """A client flow's small public result (empty when it cannot be fetched, e.g. remote runs)."""
    try:
        value = state.result(raise_on_failure=False)
    except Exception:
        return {}
    return value if isinstance(value, dict) else {}


def _raise_if_attacked(state: State, account: str, stage: str) -> None:
    """An integrity failure is tampering or replay, not a dropout: it stops the round."""
    if state.is_completed():
        return
    try:
        state.result(raise_on_failure=True)
    except IntegrityError as exc:
        raise IntegrityError(f"{stage} of account {account!r}: {exc}") from exc
    except Exception:
        return


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
    for account, state in run_clients(flow, todo, mode, **params).items():
        _raise_if_attacked(state, account, stage)
        ok = state.is_completed()
        error = "" if ok else (state.message or state.name or "failed")
        outcomes[account] = records.write(stage, label(account), ok=ok, result=_result(state) if ok else {}, error=error)
    return outcomes
