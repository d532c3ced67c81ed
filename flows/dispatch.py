"""Run a client stage for one account: as tasks in the host's flow, as a subflow, or on its pool.

``embedded`` (the default): the client flow's body runs inside the host's round flow,
so its stage shows up there as a task named after the stage and the account. A task
run costs about 3 ms; a subflow costs about 0.16 s of API round trips, and with one
per account and stage that was a tenth of a 10-account round
(``benchmarks/bench_round.py``). ``subflows``: each client stage is a flow run of its
own in the same process (flow heartbeats off: a sync subflow otherwise waits about
1 s for its heartbeat thread), which shows client flow runs in the UI as deployments
would. ``deployments``: the host asks Prefect to run the account's deployment on that
account's work pool and waits for it.

Dropouts are declared, not inferred. A stage ends as an Outcome with ``ok=False`` only
when the failure means "this account is unavailable": storage unreachable, denied or
without valid credentials after the retries, or the account's own refusal
(``StageRefused``). Anything else stops the round: an ``IntegrityError`` (tampering,
replay, a host misbehaving) names the account and the stage; bad input (a ``ConfigError``:
data, workload or model that does not fit) passes as it is, naming the account and the
file; any other exception (a bug, ``ObjectExists``, a missing object) becomes
``StageFailed`` naming both.

Decisions are recorded before the round acts on them (``RecordBook``): a rerun replays
a recorded decision and never dispatches that stage again; a stage whose decision was
never recorded (the round stopped first, for example with too few survivors) runs again
for every account, and each account adopts what it already wrote.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from prefect import Flow
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.states import State

from fedring.errors import ConfigError, IntegrityError, ObjectExists, ObjectNotFound, StageFailed, StageRefused, StorageError, TooFewSurvivors
from fedring.layout import stage_record
from fedring.storage import Store

Mode = Literal["embedded", "subflows", "deployments"]


def is_dropout(exc: BaseException) -> bool:
    """Whether a failed stage means "this account is unavailable" (a declared dropout)."""
    if isinstance(exc, StageRefused):
        return True
    return isinstance(exc, StorageError) and not isinstance(exc, (ObjectExists, ObjectNotFound))


@dataclass(frozen=True)
class Outcome:
    """How one client stage of one account ended; ``result`` is its small public result."""

    ok: bool
    result: dict
    error: str = ""


@dataclass(frozen=True)
class RecordBook:
    """The host's record of one round's decisions, in its own bucket (immutable, written once)."""

    store: Store
    run: str
    rnd: int

    def read(self, stage: str, name: str) -> dict | None:
        key = stage_record(self.run, self.rnd, stage, name)
        return json.loads(self.store.get(key)) if self.store.exists(key) else None

    def write(self, stage: str, name: str, record: dict) -> dict:
        """Record ``record`` unless a record is there already; returns the one that stands."""
        data = json.dumps(record, sort_keys=True).encode()
        return json.loads(self.store.put_once(stage_record(self.run, self.rnd, stage, name), data))


def deployment_name(flow: Flow, account: str) -> str:
    """Client deployments are named ``<flow name>/<account>`` (see prefect.yaml)."""
    return f"{flow.name}/{account}"


def _failed(exc: BaseException) -> Outcome:
    return Outcome(ok=False, result={}, error=f"{type(exc).__name__}: {exc}")


def _in_host_flow(flow: Flow, account: str, **params: Any) -> Outcome:
    try:
        value = flow.fn(account=account, **params)
    except Exception as exc:
        if is_dropout(exc):
            return _failed(exc)
        raise
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
    except Exception as exc:
        if not is_dropout(exc) and isinstance(exc, (IntegrityError, ConfigError)):
            raise
    return Outcome(ok=False, result={}, error=state.message or state.name or "failed")


def run_client(flow: Flow, account: str, mode: Mode, **params: Any) -> Outcome:
    try:
        return _dispatch(flow, account, mode, **params)
    except IntegrityError as exc:
        raise IntegrityError(f"{flow.name} of account {account!r}: {exc}") from exc
    except ConfigError:  # bad input (data, workload, model): it names the account and the file, exit code 2
        raise
    except Exception as exc:
        raise StageFailed(f"{flow.name} of account {account!r} failed: {type(exc).__name__}: {exc}") from exc


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
    flow: Flow, accounts: Sequence[str], mode: Mode, *, records: RecordBook, stage: str, need: int, **params: Any
) -> dict[str, dict]:
    """Run a client stage for every account, unless its decision was recorded; record the decision.

    Returns account -> {"ok", "result", "error"}. With fewer than ``need`` accounts ok,
    raises TooFewSurvivors and records nothing, so that a rerun tries the stage again.
    """
    found = records.read(stage, "decision")
    if found is not None:
        return found
    outcomes = run_clients(flow, accounts, mode, **params)
    ok = [a for a, o in outcomes.items() if o.ok]
    if len(ok) < need:
        failed = {a: o.error for a, o in outcomes.items() if not o.ok}
        raise TooFewSurvivors(
            f"round {records.rnd} {stage}: {len(ok)} of {len(accounts)} accounts left, {need} needed; "
            f"missing: {', '.join(failed)}. Nothing was committed. ({'; '.join(f'{a}: {e}' for a, e in failed.items())})"
        )
    decision = {a: {"ok": o.ok, "result": o.result, "error": o.error} for a, o in outcomes.items()}
    return records.write(stage, "decision", decision)


def run_step(flow: Flow, account: str, mode: Mode, *, records: RecordBook, stage: str, name: str, **params: Any) -> dict:
    """One step of a sequence (a ring hop) for one account: replayed if recorded, else run and recorded."""
    found = records.read(stage, name)
    if found is not None:
        return found
    o = run_client(flow, account, mode, **params)
    return records.write(stage, name, {"ok": o.ok, "result": o.result, "error": o.error})
