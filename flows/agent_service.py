"""An organisation's client agent: it answers the host's stage requests, and nothing else.

The agent runs in the organisation's own account, with its own federation file, key
directory, credentials and Prefect (server or Cloud workspace). It polls its own inbox for
stage requests (``inbox/_requests/``: a list every 20 ms for 10 s after a request, then
backing off to once a second, so a request is picked up within about a second), and for each:

1. checks it (``fedring.agent.check_request``): signed by the host's key pinned in this
   organisation's file, for this file's run (or a daily run derived from it), naming a
   known client stage with exactly that stage's parameters. Anything else is refused:
   logged, answered with a ``refused`` status so the host does not wait for its deadline,
   and nothing runs. A request of an older round than another pending one of the same
   run is refused as superseded (the host has moved on);
2. runs the stage as a flow run on its own Prefect, named
   ``<run>-round-<n>-<stage>-<account>``: the stage comes from the fixed table below, the
   configuration (workload, keys, storage) from the agent's own file, never from the request
   (a request names only a sum's purpose, one of three fixed values);
3. writes its signed status (ok; a declared dropout; an integrity failure; any other
   failure, with the error's class and message) to its outbox, then deletes the request.

Every stage is safe to repeat, so an agent killed at any point and restarted finishes what
was pending: a request whose status exists is only deleted, any other runs again and
adopts the outputs it already wrote. A failure of the agent's own Prefect (the flow run
cannot even start) answers nothing: the request stays and is tried again.

``fedring agent`` runs ``Agent.serve`` as a process (a VM service, an ECS service, a
Kubernetes Deployment); ``client_agent`` is the same loop as a Prefect flow, for a
deployment on the organisation's own work pool (``prefect.yaml``), where each stage is
then a subflow run of the agent's flow run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from prefect import Flow, flow
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.utilities.annotations import quote

from fedring.agent import Outcome, StageRequest, Status, check_request, digest
from fedring.config import FederationConfig, load_config
from fedring.errors import ConfigError, IntegrityError, ObjectNotFound, RequestRefused, StorageError
from fedring.keys import Identity
from fedring.layout import CLIENT_STAGES, REQUESTS_PREFIX, parse_stage_request, stage_status
from fedring.round.party import load_identity, pins
from fedring.storage import Store, owner_store
from flows.client import (
    client_advertise,
    client_consistency,
    client_contribute,
    client_reveal,
    client_ring_hop,
    client_share_keys,
)
from flows.dispatch import is_dropout
from tasks.enrol import enrol

log = logging.getLogger("fedring.agent")


@flow(name="client-join", persist_result=False)
def client_join(cfg: FederationConfig, account: str) -> dict:
    """Enrol (agent mode): its data in place checked against its own workload, keys created once and
    published; the sample count for the roster."""
    return enrol(quote(cfg), account)


# The only code an agent runs: the client flow of each stage (the request supplies data parameters).
STAGE_FLOWS: dict[str, Flow] = {
    "enrol": client_join,
    "advertise": client_advertise,
    "share-keys": client_share_keys,
    "contribute": client_contribute,
    "ring-hop": client_ring_hop,
    "consistency": client_consistency,
    "reveal": client_reveal,
}
assert tuple(STAGE_FLOWS) == CLIENT_STAGES


def flow_run_name(request: StageRequest) -> str:
    """``<run>-round-<n>-<stage>-<account>`` (a ring hop adds ``-to-<recipient>``; a sum without
    training names its purpose: ``<run>-round-<n>-eval-advertise-<account>``)."""
    purpose = request.params.get("purpose") or ""
    stage = f"{purpose}-{request.stage}" if purpose else request.stage
    name = f"{request.run}-round-{request.rnd}-{stage}-{request.account}"
    return name + (f"-to-{request.params['to']}" if request.stage == "ring-hop" else "")


class StopFlag(Protocol):
    """What ``Agent.serve`` stops on: a ``threading.Event``, or ``fedring agent``'s stop signals."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float) -> bool: ...


@dataclass
class Agent:
    """The agent of ``account``: its own configuration, bucket, identity and pins."""

    cfg: FederationConfig
    account: str
    store: Store = field(repr=False)
    identity: Identity = field(repr=False)
    pins: Mapping[str, bytes] = field(repr=False)
    min_interval: float = 0.02
    max_interval: float = 1.0
    busy_seconds: float = 10.0

    @classmethod
    def create(cls, cfg: FederationConfig, account: str, **options: float) -> Agent:
        """The agent of a client ``account`` of ``cfg``; ``ConfigError`` if it is not one or a pin is missing."""
        if account not in [a.name for a in cfg.accounts]:
            raise ConfigError(f"--account {account!r}: an agent runs for a client account of the federation file "
                              f"({', '.join(a.name for a in cfg.accounts)})")
        return cls(cfg, account, owner_store(cfg, account), load_identity(cfg, account), pins(cfg), **options)

    def serve(self, stop: StopFlag, *, max_idle: float | None = None) -> None:
        """Poll and answer until ``stop`` is set (or nothing came for ``max_idle`` seconds).

        Within ``busy_seconds`` of the last request the next one is likely (a round's stages
        follow each other), so the agent looks every ``min_interval``; after that it backs off
        by half each time, up to ``max_interval``.
        """
        log.info("agent of %s: watching %s", self.account, self.store.where(REQUESTS_PREFIX))
        interval, idle_since = self.min_interval, time.monotonic()
        while not stop.is_set():
            try:
                handled = self.step()
            except StorageError as exc:  # its own bucket unreachable for now: try again later
                log.warning("agent of %s: cannot read its inbox: %s", self.account, exc)
                handled, interval = 0, self.max_interval
            if handled:
                interval, idle_since = self.min_interval, time.monotonic()
            elif time.monotonic() - idle_since > self.busy_seconds:
                interval = min(self.max_interval, interval * 1.5)
            if max_idle is not None and time.monotonic() - idle_since > max_idle:
                return
            stop.wait(interval)

    def step(self) -> int:
        """Answer every pending request once; returns how many were answered."""
        checked: list[tuple[StageRequest, str]] = []
        answered = 0
        for key in self.store.list(REQUESTS_PREFIX):
            found = self._check(key)
            if found is True:
                answered += 1
            elif found:
                checked.append(found)
        latest: dict[str, int] = {}
        for r, _ in checked:
            latest[r.run] = max(latest.get(r.run, 0), r.rnd)
        for r, blob_digest in sorted(checked, key=lambda c: (c[0].run, c[0].rnd, CLIENT_STAGES.index(c[0].stage), c[0].name)):
            if r.rnd < latest[r.run]:
                reason = f"superseded: the host has moved on to round {latest[r.run]} of run {r.run}"
                status: Status | None = self._refusal(r.key, reason, blob_digest)
            else:
                status = self._run(r, blob_digest)
            if status is not None:  # None: this organisation's Prefect could not run it; try again later
                self._answer(r.key, r.run, r.rnd, r.name, status)
                answered += 1
        return answered

    def _check(self, key: str) -> tuple[StageRequest, str] | bool:
        """(request, digest of its bytes) if it is to run; True if refused and answered; False to skip."""
        where = parse_stage_request(key)
        if where is None:
            log.warning("agent of %s: refused %s: not a stage request key; deleted it", self.account, key)
            self.store.delete(key)
            return False
        run, rnd, name = where
        status_key = stage_status(run, rnd, name)
        if self.store.exists(status_key):
            self.store.delete(key)  # answered before (the agent stopped before consuming it, or the host wrote it again)
            return False
        try:
            blob = self.store.get(key)
        except ObjectNotFound:
            return False
        try:
            request = check_request(blob, key, run=self.cfg.run, host=self.cfg.host.name, account=self.account,
                                    accounts=[a.name for a in self.cfg.accounts], pins=self.pins)
        except RequestRefused as exc:
            self._answer(key, run, rnd, name, self._refusal(key, str(exc), digest(blob)))
            return True
        return request, digest(blob)

    def _refusal(self, key: str, reason: str, request_digest: str) -> Status:
        log.warning("agent of %s: refused %s: %s (nothing ran)", self.account, key, reason)
        return Status(Outcome.REFUSED, {}, "RequestRefused", reason, request_digest)

    def _run(self, request: StageRequest, request_digest: str) -> Status | None:
        """Run the requested stage as a flow run on this organisation's Prefect; its status."""
        cfg = self.cfg if request.run == self.cfg.run else self.cfg.model_copy(update={"run": request.run})
        params = dict(request.params) | ({} if request.stage == "enrol" else {"rnd": request.rnd})
        name = flow_run_name(request)
        log.info("agent of %s: running %s", self.account, name)
        start = time.monotonic()
        try:
            with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
                state = STAGE_FLOWS[request.stage].with_options(flow_run_name=name)(
                    cfg=cfg, account=self.account, return_state=True, **params)
        except Exception as exc:  # the flow run could not start or report: nothing to answer yet
            log.error("agent of %s: could not run %s on its Prefect: %s: %s", self.account, name, type(exc).__name__, exc)
            return None
        seconds = time.monotonic() - start
        if state.is_completed():
            value = state.result(raise_on_failure=False)
            log.info("agent of %s: %s ok in %.2f s", self.account, name, seconds)
            return Status(Outcome.OK, value if isinstance(value, dict) else {}, request=request_digest, seconds=seconds)
        exc = state.result(raise_on_failure=False)
        if not isinstance(exc, BaseException):
            exc = RuntimeError(state.message or state.name or "the stage's flow run did not complete")
        outcome = Outcome.DROPOUT if is_dropout(exc) else Outcome.INTEGRITY if isinstance(exc, IntegrityError) else Outcome.FAILED
        log.warning("agent of %s: %s ended as %s: %s: %s", self.account, name, outcome, type(exc).__name__, exc)
        return Status(outcome, {}, type(exc).__name__, str(exc), request_digest, seconds)

    def _answer(self, key: str, run: str, rnd: int, name: str, status: Status) -> None:
        """Write the signed status (an earlier one stands), then consume the request."""
        status_key = stage_status(run, rnd, name)
        self.store.put_once(status_key, status.sign(self.identity, run=run, rnd=rnd, name=name))
        self.store.delete(key)


def check_prefect() -> None:
    """Make sure this organisation's Prefect answers before the first request (an ephemeral one starts now)."""
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL

    with get_client(sync_client=True) as client:
        error = client.api_healthcheck()
    if error is not None:
        where = PREFECT_API_URL.value() or "its ephemeral server"
        raise ConfigError(f"this organisation's Prefect ({where}) does not answer: {error}; set PREFECT_API_URL")


@flow(name="client-agent", flow_run_name="agent-{account}", persist_result=False)
def client_agent(config: str, account: str, max_idle_seconds: float | None = None) -> None:
    """An organisation's agent as a flow run (a deployment on its own work pool); stages are its subflows."""
    agent = Agent.create(load_config(config), account)
    agent.serve(threading.Event(), max_idle=max_idle_seconds)
