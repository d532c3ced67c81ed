"""Agent mode in one process: agents in threads answer the host's round, under Prefect's test harness.

The multi-organisation version (own Prefect servers, agent processes, Ceph, SIGKILL) is
tests/agents/test_organisations.py; this one checks the protocol paths quickly.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from fedring.agent import Outcome, Status, make_request
from fedring.config import build_config
from fedring.errors import IntegrityError, StageFailed
from fedring.keys import Identity, signed
from fedring.layout import REQUESTS_PREFIX, STATUS_PREFIX, stage_request, stage_status
from fedring.round.party import load_identity
from fedring.split import simulate_accounts
from fedring.storage import owner_store

pytestmark = pytest.mark.usefixtures("prefect_harness")
ACCOUNTS = ("alpha", "beta", "gamma")


def _cfg(tmp_path, run: str, **deadlines):
    cfg = build_config(
        run=run, accounts=[{"name": n} for n in ACCOUNTS], partition={"scheme": "iid", "limit": 450},
        training={"rounds": 1, "eval_limit": 500}, storage={"root": str(tmp_path / "storage")},
        workload={"name": "mnist", "federated_evaluation": True},  # the federated evaluation sum too
        deadlines={"default_seconds": 60, "first_training_seconds": 60, **deadlines},
    )
    for name in ("host", *ACCOUNTS):  # what `fedring identity show` does on each organisation's machine
        load_identity(cfg, name)
    simulate_accounts(cfg)  # each organisation's data in place in its own bucket
    return cfg


class Agents:
    """One agent thread per account; ``stop()`` ends them."""

    def __init__(self, cfg, names=ACCOUNTS, agent_type=None):
        from flows.agent_service import Agent

        self.stop_event = threading.Event()
        self.agents = {n: (agent_type or Agent).create(cfg, n) for n in names}
        self.threads = [threading.Thread(target=a.serve, args=(self.stop_event,), daemon=True) for a in self.agents.values()]
        for t in self.threads:
            t.start()

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=60)


def _runs(client, prefix: str) -> dict[str, str]:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_=prefix)), limit=200)
    return {r.name: r.state_type.value for r in runs if r.name.startswith(prefix)}


@pytest.mark.slow
def test_a_secure_round_through_agents_commits_with_stages_as_flow_runs_and_edges(tmp_path):
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId, FlowRunFilterName

    from flows.host import federated_training

    cfg = _cfg(tmp_path, "agents-ok")
    agents = Agents(cfg)
    try:
        manifest = federated_training(cfg, dispatch="agents")
    finally:
        agents.stop()
    assert manifest["committed"][0]["participants"] == list(ACCOUNTS)
    assert manifest["roster"] == {a: 150 for a in ACCOUNTS}  # reported by each agent's enrol
    with get_client(sync_client=True) as client:
        # Each stage ran as a flow run named <run>-round-<n>-<stage>-<account>, and completed.
        runs = _runs(client, "agents-ok-round-")
        for a in ACCOUNTS:
            assert runs[f"agents-ok-round-0-enrol-{a}"] == "COMPLETED"
            for stage in ("advertise", "share-keys", "contribute", "consistency", "reveal"):
                assert runs[f"agents-ok-round-1-{stage}-{a}"] == "COMPLETED", (stage, a, runs)
        assert sum(1 for n in runs if "-ring-hop-" in n and "-eval-" not in n) == 3
        # the federated evaluation of round 1's model: a secure sum of its own, through the agents too
        for a in ACCOUNTS:
            for stage in ("advertise", "share-keys", "contribute", "consistency", "reveal"):
                assert runs[f"agents-ok-round-1-eval-{stage}-{a}"] == "COMPLETED", (stage, a, runs)
        assert sum(1 for n in runs if "-eval-ring-hop-" in n) == 3
        assert manifest["committed"][0]["federated"]["examples"] == 500  # eval_limit, split over the accounts
        # The round flow shows each remote stage as a task run that waited for the previous stage's.
        (round_run,) = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=["agents-ok-round-1"])))
        tasks = {}
        for _ in range(60):
            tasks = {t.name: t for t in client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[round_run.id])))}
            if all(f"reveal-{a}-round-1" in tasks for a in ACCOUNTS):
                break
            time.sleep(0.5)
        # share-keys (agents) -> relay-shares (host) -> contribute (agents): the UI draws the edges.
        shares = {tasks[f"share-keys-{a}-round-1"].id for a in ACCOUNTS}
        relay = tasks["relay-shares-round-1"]
        assert {i.id for i in relay.task_inputs["wait_for"]} == shares
        for a in ACCOUNTS:
            assert {i.id for i in tasks[f"contribute-{a}-round-1"].task_inputs["wait_for"]} == {relay.id}
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["agents-ok-round-1-agents"])))
    assert artifacts, "the round's agents artifact is missing"
    latest = max(artifacts, key=lambda a: a.created)  # one version per remote stage; the last has every row
    rows = {(r["stage"], r["account"]): r for r in _table(latest)}
    assert {s for s, _ in rows} == {"advertise", "share-keys", "contribute", "ring-hop", "consistency", "reveal"}
    assert all(r["outcome"] == "ok" and r["missed deadline"] is False for r in rows.values())


def _table(artifact) -> list[dict]:
    import json

    data = artifact.data
    return json.loads(data) if isinstance(data, str) else data


class SilentAfterShares:
    """Makes one account's agent go silent at contribute (it never answers): a dead organisation."""

    def __init__(self, account: str):
        self.account, self.release = account, threading.Event()

    def agent_type(self):
        from flows.agent_service import Agent

        outer = self

        class Silent(Agent):
            def _run(self, request, request_digest):
                if self.account == outer.account and request.stage == "contribute":
                    outer.release.wait(120)
                    return None  # no answer, as a killed agent gives none
                return super()._run(request, request_digest)

        return Silent


@pytest.mark.slow
def test_an_agent_that_goes_silent_is_a_dropout_at_the_deadline(tmp_path):
    from flows.host import federated_training

    cfg = _cfg(tmp_path, "agents-silent", stages={"contribute": 8})
    silent = SilentAfterShares("gamma")
    agents = Agents(cfg, agent_type=silent.agent_type())
    try:
        start = time.monotonic()
        manifest = federated_training(cfg, dispatch="agents")
        took = time.monotonic() - start
    finally:
        silent.release.set()
        agents.stop()
    first = manifest["committed"][0]
    assert first["participants"] == ["alpha", "beta"] and first["dropped"] == ["gamma"]
    assert took >= 8  # the host waited for gamma's deadline, not forever
    from fedring.storage import host_store
    from fedring.layout import stage_record
    import json

    decision = json.loads(host_store(cfg).get(stage_record(cfg.run, 1, "contribute", "decision")))
    assert decision["gamma"]["ok"] is False
    assert decision["gamma"]["error"].startswith("DeadlineMissed: gamma did not answer contribute of round 1 within its deadline of 8 s")


def _write_request(cfg, account, run, rnd, name, body: dict, by: Identity) -> str:
    blob = signed.sign(by, "stage-request", signed.canonical(body), {"run": run, "round": rnd, "account": account, "request": name})
    key = stage_request(run, rnd, name)
    owner_store(cfg, account).put(key, blob)
    return key


class Lines(logging.Handler):
    """The agent's log lines (Prefect's logging set-up bypasses pytest's caplog)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_refused_requests_are_answered_logged_and_run_nothing(tmp_path, monkeypatch):
    from flows import agent_service

    cfg = _cfg(tmp_path, "agents-refuse")
    host = load_identity(cfg, "host")
    roster = {a: 150 for a in ACCOUNTS}
    ran = []
    monkeypatch.setattr(agent_service.Agent, "_run", lambda self, r, d: ran.append(r) or None)
    forged = {
        "impostor": _write_request(cfg, "alpha", cfg.run, 1, "contribute", {"stage": "contribute", "params": {"roster": roster}},
                                   Identity.create("host")),
        "unknown run": _write_request(cfg, "alpha", "elsewhere", 1, "contribute", {"stage": "contribute", "params": {"roster": roster}}, host),
        "shell": _write_request(cfg, "alpha", cfg.run, 1, "shell", {"stage": "shell", "params": {"command": "touch /tmp/pwned"}}, host),
        "extra": _write_request(cfg, "alpha", cfg.run, 1, "advertise", {"stage": "advertise", "params": {"roster": roster, "command": "id"}}, host),
    }
    agent = agent_service.Agent.create(cfg, "alpha")
    lines = Lines()
    logging.getLogger("fedring.agent").addHandler(lines)
    try:
        assert agent.step() == 4
    finally:
        logging.getLogger("fedring.agent").removeHandler(lines)
    assert ran == []  # nothing ran
    store = owner_store(cfg, "alpha")
    assert store.list(REQUESTS_PREFIX) == []  # every request consumed
    pins = {"alpha": load_identity(cfg, "alpha").signing_public}
    from fedring.agent import read_status
    from fedring.layout import parse_stage_request

    reasons = {}
    for what, key in forged.items():
        run, rnd, name = parse_stage_request(key)
        status = read_status(store.get(stage_status(run, rnd, name)), pins, account="alpha", run=run, rnd=rnd, name=name)
        assert status.outcome == Outcome.REFUSED and status.error_class == "RequestRefused"
        reasons[what] = status.error
        assert any(key in line and "refused" in line and "nothing ran" in line for line in lines.lines), what
    assert reasons["impostor"].startswith("not a request signed by the pinned key of host 'host'")
    assert reasons["unknown run"].startswith("unknown run 'elsewhere'")
    assert reasons["shell"].startswith("unknown stage 'shell'")
    assert reasons["extra"] == "stage advertise takes parameters ['roster']; the request has ['command', 'roster']"
    assert store.list(f"outbox/{cfg.run}/") == []  # no stage output anywhere


def test_an_older_round_is_superseded_and_an_answered_request_is_not_run_again(tmp_path, monkeypatch):
    from flows import agent_service

    cfg = _cfg(tmp_path, "agents-order")
    host = load_identity(cfg, "host")
    roster = {a: 150 for a in ACCOUNTS}
    ran = []
    monkeypatch.setattr(agent_service.Agent, "_run",
                        lambda self, r, d: ran.append((r.rnd, r.stage)) or Status(Outcome.OK, {"x": 1}, request=d))
    store = owner_store(cfg, "alpha")
    for rnd, stage in ((1, "contribute"), (2, "advertise")):
        request = make_request(cfg.run, rnd, "alpha", stage, {"roster": roster})
        store.put(request.key, request.sign(host))
    agent = agent_service.Agent.create(cfg, "alpha")
    assert agent.step() == 2
    assert ran == [(2, "advertise")]  # round 1's contribute was superseded, not run
    # The host writes an answered request again (a resume): the agent only consumes it.
    request = make_request(cfg.run, 2, "alpha", "advertise", {"roster": roster})
    store.put(request.key, request.sign(host))
    assert agent.step() == 0 and ran == [(2, "advertise")] and store.list(REQUESTS_PREFIX) == []


def _status(cfg, account, request, outcome, *, error=("", ""), answers=None):
    blob = request.sign(load_identity(cfg, "host"))
    from fedring.agent import digest

    status = Status(outcome, {"reused": False}, error[0], error[1], answers or digest(blob), 0.5)
    owner_store(cfg, account).put(request.status_key, status.sign(load_identity(cfg, account), run=request.run,
                                                                   rnd=request.rnd, name=request.name))


@pytest.mark.parametrize("outcome,error,expect", [
    (Outcome.OK, ("", ""), {"ok": True, "error": ""}),
    (Outcome.DROPOUT, ("AccessDenied", "bucket gone"), {"ok": False, "error": "AccessDenied: bucket gone"}),
    (Outcome.REFUSED, ("RequestRefused", "unknown run"), {"ok": False, "error": "RequestRefused: unknown run"}),
    (Outcome.INTEGRITY, ("IntegrityError", "the host re-routed the ring"), IntegrityError),
    (Outcome.FAILED, ("ZeroDivisionError", "division by zero"), StageFailed),
])
def test_the_host_maps_each_answer(tmp_path, outcome, error, expect):
    from flows.agents import _outcome, await_stage

    cfg = _cfg(tmp_path, "agents-answers")
    request = make_request(cfg.run, 1, "alpha", "contribute", {"roster": {a: 150 for a in ACCOUNTS}})
    _status(cfg, "alpha", request, outcome, error=error)
    answer = await_stage.fn(cfg, request, 5.0, threading.Event())  # answered already: no request is written
    assert owner_store(cfg, "alpha").list(REQUESTS_PREFIX) == []
    if isinstance(expect, dict):
        found = _outcome("client-contribute", "alpha", answer)
        assert {"ok": found.ok, "error": found.error} == expect
    else:
        with pytest.raises(expect, match=f"client-contribute of account 'alpha'.*{error[1]}"):
            _outcome("client-contribute", "alpha", answer)


def test_a_status_answering_another_request_stops_the_round(tmp_path):
    from flows.agents import await_stage

    cfg = _cfg(tmp_path, "agents-other")
    request = make_request(cfg.run, 1, "alpha", "contribute", {"roster": {a: 150 for a in ACCOUNTS}})
    _status(cfg, "alpha", request, Outcome.OK, answers="0" * 64)
    with pytest.raises(IntegrityError, match="answers another request than the one the host signed"):
        await_stage.fn(cfg, request, 5.0, threading.Event())


def test_no_answer_by_the_deadline_is_a_declared_dropout(tmp_path):
    from flows.agents import _outcome, await_stage

    cfg = _cfg(tmp_path, "agents-late")
    request = make_request(cfg.run, 1, "alpha", "contribute", {"roster": {a: 150 for a in ACCOUNTS}})
    from prefect.logging import disable_run_logger

    start = time.monotonic()
    with disable_run_logger():
        answer = await_stage.fn(cfg, request, 0.5, threading.Event())
    assert 0.5 <= time.monotonic() - start < 5
    assert owner_store(cfg, "alpha").list(REQUESTS_PREFIX) == [request.key]  # the request was written
    found = _outcome("client-contribute", "alpha", answer)
    assert not found.ok and found.error.startswith("DeadlineMissed: alpha did not answer contribute of round 1")
    assert owner_store(cfg, "alpha").list(STATUS_PREFIX) == []
