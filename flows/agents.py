"""Agent mode, the host's side: write stage requests, wait for the agents' statuses, with deadlines.

In agent mode (``fedring run --agents``) the host runs nothing in a client's account. For
each client stage it writes a signed request into every account's inbox
(``fedring.agent.requests``) and waits for that account's signed status in its outbox, at
most until the stage's deadline (``fedring.agent.deadlines``). Each account's wait is a task
run of the round flow (``contribute-account-2-round-3``), submitted together so the waits
overlap, and each waits for the previous step's task runs (``wait_for``, ``flows/graph.py``), so the UI
draws the round's client stages as a graph.

How an answer ends (``flows/dispatch.py`` takes it from there):

- ``ok``: the stage ran; its small public result is the outcome's result;
- ``dropout`` (storage unavailable, the account's own refusal), ``refused`` (the agent
  refused the request) and no answer by the deadline (``DeadlineMissed``): a declared
  dropout, handled by the round's dropout logic;
- ``integrity``: ``IntegrityError`` naming account and stage; ``failed``: ``StageFailed``.

A status already there is adopted without writing the request again, so a host that
resumes after a crash asks only for what was never answered. The main thread waits in
short slices: Ctrl-C or SIGTERM reaches it at once, stops every wait, and the round flow
ends (the CLI then marks the runs cancelled, ``flows/cancel.py``). Each round gets a table
artifact ``<run>-round-<n>-agents``: per account and stage, the outcome, the seconds the
stage took on the agent, the seconds the host waited, the deadline and whether it was missed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from prefect import Flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture, wait
from prefect.utilities.annotations import quote

from fedring.agent import Outcome as Answer
from fedring.agent import StageRequest, Status, deadline_seconds, digest, make_request, read_status
from fedring.config import FederationConfig
from fedring.errors import (
    AccessDenied,
    CredentialsError,
    DeadlineMissed,
    IntegrityError,
    ObjectExists,
    StageFailed,
    StorageError,
    TooFewSurvivors,
)
from fedring.manifest import latest_manifest
from fedring.round.party import PinBook, load_identity, pins
from fedring.storage import Store, host_store, host_view
from flows.client import client_enrol
from flows.dispatch import Outcome
from flows.graph import end_stage, upstream
from flows.progress import report

# Seconds between two looks at an account's status: every POLL_FAST for the first
# FAST_SECONDS (a light stage answers within a second, and each look saved there is a
# round trip saved), then backing off to POLL_MAX while a long stage trains (on S3, a
# HEAD request every half second per account).
POLL_FAST, FAST_SECONDS, POLL_MAX = 0.05, 2.0, 0.5
_state: dict[str, Any] = {"flow_run": None, "rows": []}  # the current flow run's table of stage timings


class Interrupted(Exception):
    """The host run was interrupted (Ctrl-C, SIGTERM) while this wait was running."""


def run_remote(flow: Flow, accounts: Sequence[str], **params: Any) -> dict[str, Outcome]:
    """Ask each account's agent to run ``flow``'s stage; wait for every answer or its deadline."""
    cfg: FederationConfig = params["cfg"]
    stage, rnd = flow.name.removeprefix("client-"), int(params.get("rnd", 0))
    last = _last_round(cfg)
    stop = threading.Event()
    after = upstream()
    report(rnd, stage, ", ".join(accounts))  # the CLI shows whose answers the round waits for
    futures = {}
    for account in accounts:
        request = make_request(cfg.run, rnd, account, stage, params)
        seconds = deadline_seconds(cfg.deadlines, stage, account, last)
        purpose = params.get("purpose") or ""
        name = f"{stage}-{account}-round-{rnd}" + (f"-to-{params['to']}" if stage == "ring-hop" else "") + (
            f"-{purpose}" if purpose else "")  # as in the host: contribute-beta-round-2-eval
        futures[account] = await_stage.with_options(task_run_name=name).submit(
            quote(cfg), quote(request), seconds, quote(stop), wait_for=after
        )
    try:
        _wait_all(list(futures.values()))
    except BaseException:
        stop.set()  # every wait ends within one poll, so the round flow can end now
        raise
    for future in futures.values():
        future.wait()  # completed already: this keeps its final state on the future
    end_stage([f.state for f in futures.values()])  # the next stage's task runs wait for these
    answers = {a: f.result() for a, f in futures.items()}
    _report(cfg, rnd, stage, answers)
    return {a: _outcome(flow.name, a, answer) for a, answer in answers.items()}


def enrol_agents(cfg: FederationConfig) -> dict[str, int]:
    """Every account's agent enrols (its data in place, its keys published); the roster of sample counts.

    A resumed run keeps the roster it started with (an account offline now drops from its
    rounds by deadline); a new run needs every account.
    """
    pins(cfg)  # every account's pin is known, or ConfigError names the one missing
    outcomes = run_remote(client_enrol, [a.name for a in cfg.accounts], cfg=cfg)
    found = latest_manifest(host_store(cfg), cfg.run)
    if found is not None:
        return dict(found["roster"])
    missing = {a: o.error for a, o in outcomes.items() if not o.ok}
    if missing:
        raise TooFewSurvivors(
            f"run {cfg.run} cannot start: {', '.join(missing)} did not enrol; every account enrols once at the "
            f"start of a run. ({'; '.join(f'{a}: {e}' for a, e in missing.items())})"
        )
    return {a: int(o.result["samples"]) for a, o in outcomes.items()}


@task(name="await-stage", persist_result=False, cache_policy=NO_CACHE)
def await_stage(cfg: FederationConfig, request: StageRequest, seconds: float, stop: threading.Event) -> dict:
    """Host: write one account's stage request (unless answered already) and wait for its status."""
    view, pinned = host_view(cfg, request.account, rnd=request.rnd), PinBook(cfg)
    blob = request.sign(load_identity(cfg, cfg.host.name))
    start = time.monotonic()
    deadline, interval, last_error = start + seconds, POLL_FAST, None
    written = False
    while True:
        if stop.is_set():
            raise Interrupted(f"host interrupted while waiting for {request.account}'s {request.name}")
        try:
            found = _read_status(view, pinned, request)
            if found is not None:
                return _answer(request, blob, found, time.monotonic() - start, seconds)
            if not written:
                written = _write(view, request, blob)
        except (AccessDenied, CredentialsError) as exc:  # the account shut the host out: it is unavailable
            return {"outcome": Answer.DROPOUT, "error": f"{type(exc).__name__}: {exc}", "waited": time.monotonic() - start,
                    "deadline": seconds, "agent_seconds": None, "result": {}}
        except StorageError as exc:  # unreachable for now: keep trying until the deadline
            last_error = exc
        if time.monotonic() >= deadline:
            why = f" (last storage error: {last_error})" if last_error else ""
            error = DeadlineMissed(f"{request.account} did not answer {request.name} of round {request.rnd} "
                                   f"within its deadline of {seconds:g} s{why}")
            get_run_logger().warning("round %d %s: %s", request.rnd, request.stage, error)
            return {"outcome": "missed", "error": f"DeadlineMissed: {error}", "waited": time.monotonic() - start,
                    "deadline": seconds, "agent_seconds": None, "result": {}}
        stop.wait(min(interval, max(0.0, deadline - time.monotonic())))
        if time.monotonic() - start > FAST_SECONDS:
            interval = min(POLL_MAX, interval * 1.5)


def _write(view: Store, request: StageRequest, blob: bytes) -> bool:
    try:
        view.put(request.key, blob)
    except ObjectExists:  # an earlier attempt's request stays; its status tells which request it answers
        pass
    return True


def _read_status(view: Store, pinned: Mapping[str, bytes], request: StageRequest) -> Status | None:
    if not view.exists(request.status_key):
        return None
    return read_status(view.get(request.status_key), pinned, account=request.account, run=request.run,
                       rnd=request.rnd, name=request.name)


def _answer(request: StageRequest, blob: bytes, status: Status, waited: float, seconds: float) -> dict:
    if status.request != digest(blob):
        raise IntegrityError(f"{request.account}'s status for {request.name} of round {request.rnd} answers another "
                             "request than the one the host signed (a request written by someone else?)")
    return {"outcome": status.outcome, "error": status.described_error, "waited": waited, "deadline": seconds,
            "agent_seconds": status.seconds, "result": status.result}


def _outcome(flow_name: str, account: str, answer: dict) -> Outcome:
    kind = answer["outcome"]
    if kind == Answer.OK:
        return Outcome(ok=True, result=answer["result"])
    if kind == Answer.INTEGRITY:
        raise IntegrityError(f"{flow_name} of account {account!r}: {answer['error']}")
    if kind == Answer.FAILED:
        raise StageFailed(f"{flow_name} of account {account!r} failed: {answer['error']}")
    return Outcome(ok=False, result={}, error=answer["error"])  # dropout, refused, missed


def _wait_all(futures: list[PrefectFuture]) -> None:
    """Wait for every future in short slices, so that a signal reaches the main thread at once."""
    pending = futures
    while pending:
        pending = list(wait(pending, timeout=0.2).not_done)


def _rows() -> list[dict]:
    """This flow run's rows of the agents table (a new flow run starts a new table)."""
    ctx = FlowRunContext.get()
    flow_run = ctx.flow_run.id if ctx and ctx.flow_run else None
    if flow_run != _state["flow_run"]:
        _state.update(flow_run=flow_run, rows=[])
    return _state["rows"]


def _last_round(cfg: FederationConfig) -> dict | None:
    found = latest_manifest(host_store(cfg), cfg.run)
    return found["committed"][-1] if found and found["committed"] else None


def _report(cfg: FederationConfig, rnd: int, stage: str, answers: dict[str, dict]) -> None:
    """Add this stage's rows to the round's table artifact (a new version after each stage)."""
    rows = _rows()
    for account, a in answers.items():
        agent = a["agent_seconds"]
        rows.append({
            "stage": stage, "account": account, "outcome": str(a["outcome"]),
            "agent seconds": "" if agent is None else round(agent, 2), "waited seconds": round(a["waited"], 2),
            "deadline seconds": round(a["deadline"], 1), "missed deadline": a["outcome"] == "missed",
            "error": a["error"],
        })
    key = f"{cfg.run}-round-{rnd}-agents" if rnd else f"{cfg.run}-enrol-agents"
    create_table_artifact(key=key, table=rows, description=f"agents: stages of round {rnd} of run {cfg.run}")
