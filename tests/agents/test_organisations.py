"""A host and three client organisations, each with its own Prefect server, home, keys and agent.

Over Ceph radosgw tenants with the cross-account roles, everything through the real command
line in each organisation's own environment (its own credentials only):

- provisioning by organisation, pins exchanged, blocks registered on each own Prefect;
- a secure round commits; each organisation's Prefect shows its stage flow runs with INFO
  logs, the host's shows the remote stages as task runs with edges and the timing artifact;
- no organisation's Prefect holds another's credentials;
- forged requests (not signed by the pinned host key, an unknown run, an unknown stage or a
  command) are refused, logged and answered, and nothing runs;
- the host stopped by SIGTERM shows cancelled and resumes; killed (SIGKILL) between stages
  it resumes, and the round's model is bit for bit the uninterrupted run's;
- an agent SIGKILLed mid-stage is a dropout at the deadline, and once restarted takes part
  in the next round.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time

import numpy as np
import pytest

from fedring.agent import Outcome, read_status
from fedring.config import FederationConfig
from fedring.keys import Identity, signed
from fedring.keys.identity import parse_pin
from fedring.layout import REQUESTS_PREFIX, manifest, round_model, stage_record, stage_request, stage_status
from fedring.storage import host_view, owner_store
from tests.agents.organisations import CLIENTS, RUN, federation, parallel, start_servers, stop, wait_for, wait_healthy, write
from tests.s3.server import shared_server

pytestmark = [pytest.mark.slow, pytest.mark.s3]


@pytest.fixture(scope="module")
def orgs(tmp_path_factory):
    """Four organisations up: servers, Ceph, provisioning, pins exchanged, blocks, three agents."""
    orgs = start_servers(tmp_path_factory.mktemp("organisations"))  # they boot while Ceph starts
    try:
        with shared_server() as ceph:
            try:
                yield _set_up(orgs, ceph)
            finally:
                for org in orgs.values():  # agents first, while their buckets are still there
                    stop(org.agent)
    finally:
        for org in orgs.values():
            stop(org.server)
            for log in org.logs:
                log.close()


def _set_up(orgs, ceph) -> "Organisations":
    wait_healthy(orgs)
    for name, org in orgs.items():
        principal = ceph.principals[name]
        prefix = "FEDRING_" + name.upper().replace("-", "_")
        org.env |= {f"{prefix}_ACCESS_KEY_ID": principal.access_key, f"{prefix}_SECRET_ACCESS_KEY": principal.secret_key}
        write(org.config, federation(ceph))
    # Each organisation provisions its own account with its own credentials, and prints what it sends.
    sent = parallel(list(orgs.values()), lambda o: o.fedring("provision", "--config", str(o.config), "--account", o.name))
    for org, done in zip(orgs.values(), sent):
        assert done.returncode == 0, f"{org.name}: {done.stderr[-2000:]}"
    documents = {d["account"]: d for d in (json.loads(s.stdout) for s in sent)}
    assert documents["account-2"]["role_arn"] == f"arn:aws:iam::{ceph.principals['account-2'].tenant}:role/agents-host-access"
    pins = {name: d["identity"] for name, d in documents.items()}
    _data_in_place(ceph)
    for org in orgs.values():  # each puts every pin it received into its own copy
        write(org.config, federation(ceph, pins=pins))
    registered = parallel(list(orgs.values()),
                          lambda o: o.fedring("accounts", "register", "--config", str(o.config), "--account", o.name))
    for org, done in zip(orgs.values(), registered):
        assert done.returncode == 0, f"{org.name}: {done.stderr[-2000:]}"
    for name in CLIENTS:
        orgs[name].start_agent()
    return Organisations(orgs, ceph, pins)


def _data_in_place(ceph) -> None:
    """Each client organisation's data in its own bucket, with its own credentials, as `fedring data put` leaves it."""
    from fedring.ml.data import load_mnist
    from fedring.split import split_data

    cfg = FederationConfig.model_validate(federation(ceph))
    train, test = load_mnist()
    for name in CLIENTS:
        split_data(cfg, train, {name: owner_store(cfg, name, session=ceph.principals[name].session())}, test)


class Organisations:
    def __init__(self, orgs, ceph, pins):
        self.orgs, self.ceph, self.pins = orgs, ceph, pins
        self.host = orgs["host"]

    def cfg(self, **overrides) -> FederationConfig:
        return FederationConfig.model_validate(federation(self.ceph, pins=self.pins, **overrides))

    def host_run(self, run: str, *, log: str, **overrides):
        """Start the host's `fedring run --agents` for daily run ``run`` (its copy of the file with ``overrides``)."""
        path = write(self.host.root / f"{run}.yaml", federation(self.ceph, pins=self.pins, run=run, **overrides))
        return self.host.start("run", "--config", str(path), "--agents",  # the file's run id starts or resumes it
                               "--run-dir", str(self.host.root / "out" / run), log=log)

    def owner(self, cfg: FederationConfig, name: str):
        return owner_store(cfg, name, session=self.ceph.principals[name].session())

    def committed(self, cfg: FederationConfig, run: str) -> list[dict]:
        store = self.owner(cfg, "host")
        keys = store.list(f"runs/{run}/manifest/")
        return json.loads(store.get(keys[-1]))["committed"] if keys else []


def _finish(proc, timeout: float = 600) -> int:
    return proc.wait(timeout=timeout)


def _tail(path) -> str:
    return path.read_text()[-4000:] if path.exists() else ""


RUN_A = f"{RUN}-20260101"


def test_a_secure_round_commits_across_four_control_planes(orgs):
    host = orgs.host
    done = _finish(orgs.host_run(RUN_A, log="run-a.log"))
    assert done == 0, _tail(host.root / "run-a.log")
    cfg = orgs.cfg()
    (first,) = orgs.committed(cfg, RUN_A)
    assert first["participants"] == list(CLIENTS) and first["dropped"] == []
    # Each organisation's Prefect shows its own stage flow runs, completed, with training logs at INFO.
    for name in CLIENTS:
        runs = orgs.orgs[name].flow_runs(f"{RUN_A}-round-")
        for stage in ("advertise", "share-keys", "contribute", "consistency", "reveal"):
            (run,) = runs[f"{RUN_A}-round-1-{stage}-{name}"]
            assert run["state_type"] == "COMPLETED"
        assert [r["state_type"] for r in runs[f"{RUN_A}-round-0-enrol-{name}"]] == ["COMPLETED"]
        contribute = runs[f"{RUN_A}-round-1-contribute-{name}"][0]
        logs = orgs.orgs[name].api("/logs/filter", {"logs": {"flow_run_id": {"any_": [contribute["id"]]}}, "limit": 200})
        assert any("trained on 150 images" in line["message"] and line["level"] == 20 for line in logs), logs
        assert all(n.split("-to-")[0].endswith(f"-{name}") for n in runs)  # its own stages, nobody else's
    # The host's Prefect shows each remote stage as a task run of the round, waiting for the previous stage.
    (round_run,) = host.flow_runs(f"{RUN_A}-round-1")[f"{RUN_A}-round-1"]
    tasks = wait_for(lambda: _task_runs(host, round_run["id"], "reveal-account-3-round-1"), "the round's task runs", 60)
    # share-keys (agents) -> relay-shares (host) -> contribute (agents), drawn as edges
    shares = {tasks[f"share-keys-{a}-round-1"]["id"] for a in CLIENTS}
    relay = tasks["relay-shares-round-1"]
    assert {i["id"] for i in relay["task_inputs"]["wait_for"]} == shares
    for a in CLIENTS:
        assert {i["id"] for i in tasks[f"contribute-{a}-round-1"]["task_inputs"]["wait_for"]} == {relay["id"]}
    rows = _artifact(host, f"{RUN_A}-round-1-agents")
    assert {(r["stage"], r["account"]) for r in rows if r["stage"] == "contribute"} == {("contribute", a) for a in CLIENTS}
    assert all(r["outcome"] == "ok" and r["agent seconds"] != "" for r in rows)


def _task_runs(org, flow_run_id: str, needed: str) -> dict[str, dict] | None:
    runs = {t["name"]: t for t in org.api("/task_runs/filter", {"flow_runs": {"id": {"any_": [flow_run_id]}}, "limit": 200})}
    return runs if needed in runs else None


def _artifact(org, key: str) -> list[dict]:
    found = org.api("/artifacts/filter", {"artifacts": {"key": {"any_": [key]}}, "limit": 50})
    latest = max(found, key=lambda a: a["created"])
    return json.loads(latest["data"]) if isinstance(latest["data"], str) else latest["data"]


def test_no_organisation_prefect_holds_another_organisations_credentials(orgs):
    for name, org in orgs.orgs.items():
        documents = json.dumps(org.block_documents())
        mine = orgs.ceph.principals[name]
        assert mine.access_key in documents and mine.secret_key in documents  # its own keys are there
        for other, principal in orgs.ceph.principals.items():
            if other != name:
                assert principal.access_key not in documents, (name, other)
                assert principal.secret_key not in documents, (name, other)


def test_forged_requests_are_refused_logged_and_nothing_runs(orgs):
    cfg = orgs.cfg()
    org = orgs.orgs["account-1"]
    host_key = Identity.load(orgs.host.root / "keys" / "host" / "identity.json")
    assert host_key.pin == orgs.pins["host"]
    roster = {a: 150 for a in CLIENTS}
    run = f"{RUN}-20260105"
    forged = [  # (run, round, name, body, signed by)
        (run, 1, "contribute", {"stage": "contribute", "params": {"roster": roster}}, Identity.create("host")),
        ("someone-else", 1, "contribute", {"stage": "contribute", "params": {"roster": roster}}, host_key),
        (run, 1, "shell", {"stage": "shell", "params": {"command": "touch /tmp/fedring-pwned"}}, host_key),
        (run, 1, "advertise", {"stage": "advertise", "params": {"roster": roster, "command": "id"}}, host_key),
    ]
    before = len(org.api("/flow_runs/filter", {"limit": 200}))
    view = host_view(cfg, "account-1", session=orgs.ceph.principals["host"].session())  # whoever may write the inbox
    for r, rnd, name, body, by in forged:
        blob = signed.sign(by, "stage-request", signed.canonical(body), {"run": r, "round": rnd, "account": "account-1", "request": name})
        view.put(stage_request(r, rnd, name), blob)
    pin = {"account-1": parse_pin(orgs.pins["account-1"])}
    reasons = []
    for r, rnd, name, _, _ in forged:
        blob = wait_for(lambda: view.exists(stage_status(r, rnd, name)) and view.get(stage_status(r, rnd, name)),
                        f"the answer to {name}", 30)
        status = read_status(blob, pin, account="account-1", run=r, rnd=rnd, name=name)
        assert status.outcome == Outcome.REFUSED
        reasons.append(status.error)
    assert reasons[0].startswith("not a request signed by the pinned key of host 'host'")
    assert reasons[1].startswith("unknown run 'someone-else'")
    assert reasons[2].startswith("unknown stage 'shell'")
    assert reasons[3] == "stage advertise takes parameters ['roster']; the request has ['command', 'roster']"
    log = org.agent_log.read_text()
    for r, rnd, name, _, _ in forged:
        assert f"refused {stage_request(r, rnd, name)}" in log
    assert len(org.api("/flow_runs/filter", {"limit": 200})) == before  # no flow run started
    store = orgs.owner(cfg, "account-1")
    assert store.list(REQUESTS_PREFIX) == [] and store.list(f"outbox/{run}/") == []


RUN_C = f"{RUN}-20260103"


def test_the_host_stopped_then_killed_between_stages_resumes_and_counts_nothing_twice(orgs, monkeypatch):
    cfg = orgs.cfg()
    host = orgs.owner(cfg, "host")
    # SIGTERM while the round runs: the host stops at once and Prefect shows the runs cancelled.
    proc = orgs.host_run(RUN_C, log="run-c1.log")
    wait_for(lambda: host.exists(stage_record(RUN_C, 1, "advertise", "decision")), "advertise decided", 300)
    stopped = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert _finish(proc, 60) == 130, _tail(orgs.host.root / "run-c1.log")
    assert time.monotonic() - stopped < 45  # not the 300 s deadline of the waits in flight (slack for loaded CI)
    assert "Run the same command again to resume" in (orgs.host.root / "run-c1.log").read_text()
    runs = orgs.host.flow_runs(RUN_C)
    assert [r["state_type"] for r in runs[RUN_C]] == ["CANCELLED"]
    assert [r["state_type"] for r in runs[f"{RUN_C}-round-1"]] == ["CANCELLED"]
    assert orgs.committed(cfg, RUN_C) == []
    # Rerun, and SIGKILL it once the contribute decision is recorded (between two stages).
    proc = orgs.host_run(RUN_C, log="run-c2.log")
    wait_for(lambda: host.exists(stage_record(RUN_C, 1, "contribute", "decision")), "contribute decided", 300)
    stop(proc, signal.SIGKILL)
    # Rerun to the end. The killed host's lease on S3 lives until its ttl (60 s) runs out: a rerun
    # before that is refused at once, naming when the run frees itself; the user reruns after that.
    code = _finish(orgs.host_run(RUN_C, log="run-c3.log"))
    if code == 8:
        assert "the run frees itself when its lease expires" in (orgs.host.root / "run-c3.log").read_text()
        time.sleep(61)
        code = _finish(orgs.host_run(RUN_C, log="run-c4.log"))
    assert code == 0, _tail(orgs.host.root / "run-c4.log")
    (first,) = orgs.committed(cfg, RUN_C)
    assert first["participants"] == list(CLIENTS)
    for name in CLIENTS:  # every stage ran once on each organisation's Prefect, whatever the host went through
        runs = orgs.orgs[name].flow_runs(f"{RUN_C}-round-1-")
        for stage in ("advertise", "share-keys", "contribute", "consistency", "reveal"):
            assert len(runs[f"{RUN_C}-round-1-{stage}-{name}"]) == 1, (name, stage)
    # Nothing counted twice: the committed model is, bit for bit, that of the uninterrupted run A.
    monkeypatch.setenv("FEDRING_KEYS", str(orgs.host.root / "keys"))  # the test opens the models as the host
    for var in ("FEDRING_HOST_ACCESS_KEY_ID", "FEDRING_HOST_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(var, orgs.host.env[var])
    assert np.array_equal(_model(cfg, RUN_C), _model(cfg, RUN_A))


def _model(cfg: FederationConfig, run: str) -> np.ndarray:
    from fedring.round.model import open_model
    from fedring.round.party import host_party

    run_cfg = cfg.model_copy(update={"run": run})
    host = host_party(run_cfg)
    return open_model(host, host.store.get(round_model(run, 1)), rnd=1, host="host")


RUN_D = f"{RUN}-20260104"


def test_a_killed_agent_is_a_dropout_at_the_deadline_and_rejoins_the_next_round(orgs):
    cfg = orgs.cfg()
    agent = orgs.orgs["account-3"]
    proc = orgs.host_run(RUN_D, log="run-d.log", training={"rounds": 2}, deadlines={"first_training_seconds": 60})
    running = f"running {RUN_D}-round-1-contribute-account-3"
    wait_for(lambda: running in agent.agent_log.read_text(), "account-3 running contribute", 300, every=0.05)
    stop(agent.agent, signal.SIGKILL)  # mid-stage: the flow run is under way, no answer will come
    host = orgs.owner(cfg, "host")
    wait_for(lambda: host.exists(manifest(RUN_D, 1)), "round 1 committed", 300)
    agent.start_agent()
    assert _finish(proc) == 0, _tail(orgs.host.root / "run-d.log")
    first, second = orgs.committed(cfg, RUN_D)
    assert first["participants"] == ["account-1", "account-2"] and first["dropped"] == ["account-3"]
    decision = json.loads(host.get(stage_record(RUN_D, 1, "contribute", "decision")))
    assert decision["account-3"]["error"].startswith(
        "DeadlineMissed: account-3 did not answer contribute of round 1 within its deadline of 60 s")
    rows = _artifact(orgs.host, f"{RUN_D}-round-1-agents")
    assert [r["missed deadline"] for r in rows if (r["stage"], r["account"]) == ("contribute", "account-3")] == [True]
    assert second["participants"] == list(CLIENTS) and second["dropped"] == []


def test_each_organisation_deploys_only_its_own_entry_of_prefect_yaml(orgs):
    from tests.agents.organisations import BIN

    repo = BIN.parents[1]
    for name, pool, deployment in (("host", "fedring-host", "nightly"), ("account-1", "fedring-agent", "agent-account-1")):
        org = orgs.orgs[name]
        for args in (["work-pool", "create", pool, "--type", "process"], ["--no-prompt", "deploy", "--name", deployment]):
            done = subprocess.run([BIN / "prefect", *args], cwd=repo, env=org.env, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        found = org.api("/deployments/filter", {"limit": 50})
        assert [d["name"] for d in found] == [deployment]
        if name != "host":
            assert found[0]["parameters"] == {"config": "federation.yaml", "account": name}
