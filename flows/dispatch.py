"""Run a client stage for one account: as tasks in the host's flow, as a subflow, or by its agent.

``embedded`` (the default): the client flow's body runs inside the host's round flow,
so its stage shows up there as a task named after the stage and the account. A task
run costs about 3 ms; a subflow costs about 0.16 s of API round trips, and with one
per account and stage that was a tenth of a 10-account round
(``benchmarks/bench_round.py``). ``subflows``: each client stage is a flow run of its
own in the same process (flow heartbeats off: a sync subflow otherwise waits about
1 s for its heartbeat thread). ``agents``: the host writes a signed stage request into
the account's inbox and waits, until a deadline, for its agent's answer
(``flows/agents.py``); the agent runs the stage on its organisation's own Prefect.

Dropouts are declared, not inferred. A stage ends as an Outcome with ``ok=False`` only
when the failure means "this account is unavailable": storage unreachable, denied or
without valid credentials after the retries, the account's own refusal
(``StageRefused``), or no answer from its agent by the deadline (``DeadlineMissed``).
Anything else stops the round: an ``IntegrityError`` (tampering, replay, a host
misbehaving) names the account and the stage; bad input (a ``ConfigError``: data,
workload or model that does not fit) passes as it is, naming the account and the file;
any other exception (a bug, ``ObjectExists``, a missing object) becomes ``StageFailed``
naming both.

Decisions are recorded before the round acts on them (``RecordBook``): a rerun replays
a recorded decision and never dispatches that stage again; a stage whose decision was
never recorded (the round stopped first, for example with too few survivors) runs again
for every account, and each account adopts what it already wrote.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from prefect import Flow, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.futures import wait
from prefect_dask import DaskTaskRunner
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.states import State
from prefect.utilities.annotations import quote

from fedring.errors import (
    ConfigError,
    DeadlineMissed,
    IntegrityError,
    ObjectExists,
    ObjectNotFound,
    StageFailed,
    StageRefused,
    StorageError,
    TooFewSurvivors,
)
from fedring.storage import Store
from flows.graph import end_stage, upstream
from flows.progress import report
from tasks.records import read_record, write_record

Mode = Literal["embedded", "subflows", "agents"]


def is_dropout(exc: BaseException) -> bool:
    """Whether a failed stage means "this account is unavailable" (a declared dropout)."""
    if isinstance(exc, (StageRefused, DeadlineMissed)):
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
        return read_record(quote(self.store), self.run, self.rnd, stage, name)

    def write(self, stage: str, name: str, record: dict) -> dict:
        """Record ``record`` unless a record is there already; returns the one that stands."""
        return write_record(quote(self.store), self.run, self.rnd, stage, name, record)


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
    if mode == "agents":
        from flows.agents import run_remote

        return run_remote(flow, [account], **params)[account]
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
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        return _from_state(flow(account=account, return_state=True, **params))


def run_clients(flow: Flow, accounts: Sequence[str], mode: Mode, **params: Any) -> dict[str, Outcome]:
    """One client stage per account: by their agents all at once, in worker processes, or in sequence.

    Embedded, when the round flow's task runner is a Dask one (``flows/execution.py``),
    the accounts are split into one batch per worker slot, each batch a task of the
    round that runs its accounts' stages one after another in a worker process
    (``_in_workers``), except the light stages of a small sum (``in_host``); otherwise the
    stages run in the host's process one after another.
    """
    if mode == "agents":
        from flows.agents import run_remote

        return run_remote(flow, accounts, **params)
    if mode == "embedded" and _parallel() and not in_host(flow.name, len(accounts)):
        return _in_workers(flow, accounts, **params)
    try:
        return {a: run_client(flow, a, mode, **params) for a in accounts}
    finally:
        end_stage()


LIGHT_STAGES = {"client-advertise", "client-share-keys", "client-consistency", "client-reveal"}
"""Stages of a few signatures and seals per account: no training, no data."""

LIGHT_IN_HOST_UP_TO = 16
"""A light stage of at most this many accounts runs in the host even when workers are up.

Its trip to the workers costs more than its work: 0.24-0.27 s a stage in two workers
(3 accounts) against 0.10-0.14 s in the host (5 accounts) on two cores. Beyond this,
share-keys seals to every peer (quadratic in the accounts) and the workers win.
"""


def in_host(stage: str, accounts: int) -> bool:
    """Whether a stage of ``accounts`` accounts runs in the host although workers are up."""
    return stage in LIGHT_STAGES and accounts <= LIGHT_IN_HOST_UP_TO


def _parallel() -> bool:
    ctx = FlowRunContext.get()
    return ctx is not None and isinstance(ctx.task_runner, DaskTaskRunner)


@task(name="client-stages", cache_policy=NO_CACHE, persist_result=False)
def client_stages(flow_ref: str, accounts: list[str], params: dict[str, Any]) -> dict[str, Outcome]:
    """One client stage for a batch of accounts, one after another, in this worker process.

    Each account's stage is the same task run it is in the host (``contribute-beta-round-2``),
    nested under this one; the first failure that is not a dropout stops the batch.
    """
    module, name = flow_ref.split(":")
    flow = getattr(importlib.import_module(module), name)
    return {a: run_client(flow, a, "embedded", **params) for a in accounts}


def _in_workers(flow: Flow, accounts: Sequence[str], **params: Any) -> dict[str, Outcome]:
    """Batches of accounts as tasks on the round's Dask task runner; waits for all before raising.

    One task per worker slot rather than one per account: a Prefect task sent to a Dask
    worker cost 0.1-0.3 s of CPU there (measured at load average 15-20; Prefect rebuilds
    its settings and API client for each), against 2-3 ms for a task run in the host,
    which would eat the gain of the light stages. Batches are balanced by the accounts' sample counts when the stage knows
    them (largest first, to the lightest batch). No stage is still running when a
    failure is raised, so nothing writes after the round stops.
    """
    runner = FlowRunContext.get().task_runner
    slots = max(1, sum(runner.client.nthreads().values()))
    samples = params.get("roster") or {}
    batches = _balanced(list(accounts), slots, lambda a: samples.get(a, 1))
    stage, rnd = flow.name.removeprefix("client-"), params.get("rnd")
    if rnd is not None:
        report(rnd, stage, f"{len(accounts)} accounts in {len(batches)} worker processes")
    name = f"{flow.name}" + (f"-round-{rnd}" if rnd is not None else "") + (f"-{purpose}" if (purpose := params.get("purpose")) else "")
    ref = f"{flow.fn.__module__}:{flow.fn.__name__}"
    futures = [
        client_stages.with_options(task_run_name=f"{name}-part-{i + 1}-of-{len(batches)}").submit(
            ref, batch, params, wait_for=upstream())
        for i, batch in enumerate(batches)
    ]
    wait(futures)
    end_stage([f.state for f in futures if f.state.is_completed()])
    outcomes: dict[str, Outcome] = {}
    for future in futures:
        outcomes.update(future.result())
    return {a: outcomes[a] for a in accounts}


def _balanced(accounts: list[str], parts: int, weight: Callable[[str], float]) -> list[list[str]]:
    """At most ``parts`` non-empty batches of about equal total weight, each in the accounts' order."""
    batches: list[list[str]] = [[] for _ in range(min(parts, len(accounts)))]
    load = [0.0] * len(batches)
    for a in sorted(accounts, key=weight, reverse=True):
        lightest = load.index(min(load))
        batches[lightest].append(a)
        load[lightest] += weight(a)
    order = {a: i for i, a in enumerate(accounts)}
    return [sorted(b, key=order.__getitem__) for b in batches]


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


def run_step(flow: Flow, account: str, mode: Mode, *, records: RecordBook, stage: str, name: str,
             indispensable: str = "", **params: Any) -> dict:
    """One step of a sequence (a ring hop) for one account: replayed if recorded, else run and recorded.

    ``indispensable`` says why the round cannot go on without this step (empty: it can).
    Such a step's failure is not recorded, since every resume would replay it and the round
    could never finish: the round stops with TooFewSurvivors, and a resume runs the step again.
    """
    found = records.read(stage, name)
    if found is not None:
        return found
    try:
        o = run_client(flow, account, mode, **params)
    finally:
        end_stage()
    if not o.ok and indispensable:
        raise TooFewSurvivors(
            f"round {records.rnd} {stage}: {account} failed ({o.error}); {indispensable}. Nothing was committed "
            f"and the failure was not recorded: resume the run once {account} is reachable again, and the round "
            f"goes on from this step."
        )
    return records.write(stage, name, {"ok": o.ok, "result": o.result, "error": o.error})
