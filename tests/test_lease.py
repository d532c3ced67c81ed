"""The run lease with real processes: refusal, takeover after SIGKILL, renewal, loss on takeover.

Holders are separate Python processes (``HOLDER`` below) on a ``LocalStore`` and on S3 (Ceph
radosgw); a crash is a SIGKILL, a process that cannot renew is a SIGSTOP. The property test
runs two leases against one store under every interleaving hypothesis finds, with a clock it
controls, including one lease's whole operation landing between two store calls of the other's.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from fedring import layout
from fedring.cli import exit_code_for
from fedring.errors import RunBusy
from fedring.lease import RunLease
from fedring.storage import LocalStore, Store

ROOT = Path(__file__).resolve().parents[1]
LONG = 600.0  # a ttl no test waits for: whatever frees the run, it is not expiry

HOLDER = """
import json, pathlib, sys, time
from benchmarks.bench_races import store_from_spec
from fedring.errors import RunBusy
from fedring.lease import RunLease
spec, run, options, stop = json.loads(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3]), pathlib.Path(sys.argv[4])
lease = RunLease(store_from_spec(spec), run, **options)
try:
    lease.acquire()
except RunBusy as exc:
    print("busy:", exc, flush=True)
    sys.exit(8)
print("held", flush=True)
while not stop.exists():
    time.sleep(0.05)
    try:
        lease.check()
    except RunBusy as exc:
        print("lost:", exc, flush=True)
        sys.exit(8)
lease.release()
print("released", flush=True)
"""


class Holder:
    """A process that takes the run's lease, checks it every 50 ms, and releases it when told."""

    def __init__(self, spec: dict[str, Any], run: str, tmp: Path, **options: Any) -> None:
        self.stop_file = tmp / f"stop-{uuid.uuid4().hex[:8]}"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, json.dumps(spec), run, json.dumps(options), str(self.stop_file)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def first_line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def finish(self) -> tuple[int, str]:
        """Ask it to stop; its exit code and what it printed after its first line."""
        self.stop_file.touch()
        out, err = self.proc.communicate(timeout=60)
        return self.proc.returncode, out.strip() + err[-2000:]

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)


@pytest.fixture
def cleanup():
    holders: list[Holder] = []
    yield holders.append
    for h in holders:
        if h.proc.poll() is None:
            os.kill(h.proc.pid, signal.SIGCONT)
            h.kill()


@pytest.fixture(scope="module")
def s3_spec() -> Any:
    from benchmarks.bench_races import store_from_spec
    from tests.s3.server import shared_server

    with shared_server() as server:
        owner = server.principals["outsider"]
        spec = {"kind": "s3", "endpoint": server.endpoint, "access_key": owner.access_key,
                "secret_key": owner.secret_key, "bucket": f"lease-{uuid.uuid4().hex[:12]}", "account": "host"}
        store_from_spec(spec).client.create_bucket(Bucket=spec["bucket"])  # type: ignore[attr-defined]
        yield spec


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def spec(request, tmp_path) -> dict[str, Any]:
    if request.param == "local":
        return {"kind": "local", "root": str(tmp_path / "storage"), "bucket": "fedring-host", "account": "host"}
    return request.getfixturevalue("s3_spec")


def _run() -> str:
    return f"run-{uuid.uuid4().hex[:8]}"


def test_a_second_process_on_the_run_is_refused_at_once_naming_the_holder(spec, tmp_path, cleanup):
    # Prepare: a process holds the run (a lease no test waits out).
    run = _run()
    first = Holder(spec, run, tmp_path, ttl=LONG)
    cleanup(first)
    assert first.first_line() == "held"
    # Execute: a second process on the same run and storage.
    second = Holder(spec, run, tmp_path, ttl=LONG)
    cleanup(second)
    refusal = second.first_line()
    # Assert: refused, naming the holder's process, host and start; the holder is untouched.
    assert second.proc.wait(timeout=60) == 8
    assert refusal.startswith(f"busy: run {run!r} is busy: process {first.proc.pid} on host {socket.gethostname()!r}")
    assert " UTC" in refusal and "Wait for that process to finish or stop it" in refusal
    frees = "as soon as that process ends" if spec["kind"] == "local" else "when its lease expires at"
    assert frees in refusal
    assert first.finish() == (0, "released")
    # ... and once the holder released the run, the next process takes it at once.
    third = Holder(spec, run, tmp_path, ttl=LONG)
    cleanup(third)
    assert third.first_line() == "held"
    assert third.finish() == (0, "released")


def test_a_sigkilled_holder_on_local_storage_frees_the_run_at_once(tmp_path, cleanup):
    spec = {"kind": "local", "root": str(tmp_path / "storage"), "bucket": "fedring-host"}
    run = _run()
    holder = Holder(spec, run, tmp_path, ttl=LONG)
    cleanup(holder)
    assert holder.first_line() == "held"
    holder.kill()
    # Its lease has ten minutes left, but its process is gone: the next process takes over.
    successor = Holder(spec, run, tmp_path, ttl=LONG)
    cleanup(successor)
    assert successor.first_line() == "held"
    assert successor.finish() == (0, "released")


def test_a_live_pid_with_another_start_time_is_a_dead_holder(tmp_path):
    # Prepare: a lease left by a process whose PID now belongs to another (ours, started later).
    store = LocalStore(tmp_path, "fedring-host")
    first = RunLease(store, "reused", ttl=LONG, autorenew=False).acquire()
    doc = json.loads(store.get(layout.lease("reused", 0)))
    store.delete(layout.lease("reused", 0))
    doc["holder"]["start"] -= 1
    store.put(layout.lease("reused", 0), json.dumps(doc).encode())
    # Execute / Assert: taken over at once, and the first lease finds out.
    RunLease(store, "reused", ttl=LONG, autorenew=False).acquire()
    with pytest.raises(RunBusy, match="'reused' was taken over by process"):
        first.renew()


@pytest.mark.s3
def test_a_sigkilled_holder_on_s3_frees_the_run_when_its_lease_expires(s3_spec, tmp_path, cleanup):
    run = _run()
    holder = Holder(s3_spec, run, tmp_path, ttl=8.0)
    cleanup(holder)
    assert holder.first_line() == "held"
    holder.kill()
    # Right after the kill the lease is still valid: refused ...
    early = Holder(s3_spec, run, tmp_path, ttl=8.0)
    cleanup(early)
    assert early.first_line().startswith("busy:") and early.proc.wait(timeout=60) == 8
    # ... and a process that waits takes the run when the lease expires, with nobody's help.
    patient = Holder(s3_spec, run, tmp_path, ttl=8.0, wait=60.0)
    cleanup(patient)
    assert patient.first_line() == "held"
    assert patient.finish() == (0, "released")


@pytest.mark.parametrize("storage", ["local", pytest.param("s3", marks=pytest.mark.s3)])
def test_renewal_keeps_a_live_holder_past_many_ttls_and_the_chain_short(storage, request, tmp_path, cleanup):
    # Prepare: time-based leases everywhere (pid_liveness off), ttl 4 s, renewed every 1.3 s.
    spec = request.getfixturevalue("s3_spec") if storage == "s3" else {
        "kind": "local", "root": str(tmp_path / "storage"), "bucket": "fedring-host"}
    run = _run()
    holder = Holder(spec, run, tmp_path, ttl=4.0, pid_liveness=False)
    cleanup(holder)
    assert holder.first_line() == "held"
    # Execute: more than two ttls later, another process tries.
    time.sleep(9.0)
    late = Holder(spec, run, tmp_path, ttl=4.0, pid_liveness=False)
    cleanup(late)
    # Assert: refused; the holder renewed (generations went on) and deleted superseded ones.
    assert late.first_line().startswith("busy:") and late.proc.wait(timeout=60) == 8
    from benchmarks.bench_races import store_from_spec

    keys = store_from_spec(spec).list(layout.lease_prefix(run))
    assert 1 <= len(keys) <= 2 and keys[-1] >= layout.lease(run, 3)
    assert holder.finish() == (0, "released")


@pytest.mark.parametrize("storage", ["local", pytest.param("s3", marks=pytest.mark.s3)])
def test_a_holder_whose_lease_was_taken_over_gets_run_busy_from_check(storage, request, tmp_path, cleanup):
    # Prepare: a holder that cannot renew (SIGSTOP) until its lease expires.
    spec = request.getfixturevalue("s3_spec") if storage == "s3" else {
        "kind": "local", "root": str(tmp_path / "storage"), "bucket": "fedring-host"}
    run = _run()
    stalled = Holder(spec, run, tmp_path, ttl=2.0, pid_liveness=False)
    cleanup(stalled)
    assert stalled.first_line() == "held"
    os.kill(stalled.proc.pid, signal.SIGSTOP)
    successor = Holder(spec, run, tmp_path, ttl=2.0, pid_liveness=False, wait=30.0)
    cleanup(successor)
    assert successor.first_line() == "held"
    # Execute: the stalled holder runs again.
    os.kill(stalled.proc.pid, signal.SIGCONT)
    out, err = stalled.proc.communicate(timeout=60)
    # Assert: its next check() refuses to go on, naming who took over; the successor holds on.
    assert stalled.proc.returncode == 8, err[-2000:]
    assert out.startswith(f"lost: run {run!r} was taken over by process {successor.proc.pid} on host "), out
    assert "this process stops before committing anything more" in out
    assert successor.proc.poll() is None
    assert successor.finish() == (0, "released")


# -- in one process -------------------------------------------------------------------------


def test_run_busy_maps_to_exit_code_8() -> None:
    assert exit_code_for(RunBusy("run 'x' is busy")) == 8


def test_release_leaves_one_released_generation_that_the_next_holder_takes(tmp_path) -> None:
    store = LocalStore(tmp_path, "fedring-host")
    with RunLease(store, "r", ttl=LONG) as lease:
        lease.check()
        with pytest.raises(RunBusy):
            RunLease(store, "r", ttl=LONG).acquire()  # the same process, another lease: busy too
    assert [json.loads(store.get(k))["state"] for k in store.list(layout.lease_prefix("r"))] == ["released"]
    with RunLease(store, "r", ttl=LONG):
        pass
    assert store.list(layout.lease_prefix("r")) == [layout.lease("r", 3)]
    with pytest.raises(RuntimeError, match="not held"):
        lease.check()


def test_a_lease_acquired_again_after_release_renews_again(tmp_path) -> None:
    store = LocalStore(tmp_path, "fedring-host")
    lease = RunLease(store, "again", ttl=0.6, pid_liveness=False)
    lease.acquire()
    lease.release()
    lease.acquire()
    try:
        first = store.list(layout.lease_prefix("again"))[-1]
        for _ in range(100):  # the renewal thread writes a generation every 0.2 s
            if store.list(layout.lease_prefix("again"))[-1] != first:
                break
            time.sleep(0.1)
        assert store.list(layout.lease_prefix("again"))[-1] > first
        lease.check()
    finally:
        lease.release()


class TwoHolders(RuleBasedStateMachine):
    """Two leases on one run, time-based, a clock we move; any order of their verbs.

    Each lease sees the store through ``Interleaving``, which can run the other lease's whole
    operation just before its own nth store call: hypothesis picks the operation and n.
    """

    TTL = 60.0

    def __init__(self) -> None:
        super().__init__()
        import tempfile

        # tmpfs when there is one: fsync there is free, and hypothesis runs thousands of puts
        self.dir = tempfile.TemporaryDirectory(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        self.store = LocalStore(self.dir.name, "fedring-host")
        self.now = 1_000_000.0
        self.views = [Interleaving(self.store, self.check_one_holder), Interleaving(self.store, self.check_one_holder)]
        self.leases = [self._fresh(0), self._fresh(1)]

    def _fresh(self, i: int) -> RunLease:
        return RunLease(self.views[i], "prop", ttl=self.TTL, pid_liveness=False, clock=lambda: self.now, autorenew=False)

    def _do(self, i: int, verb: str) -> None:
        lease = self.leases[i]
        try:
            getattr(lease, verb)()
        except RunBusy:
            return
        except RuntimeError:  # a verb that needs the lease held (or not yet acquired)
            return
        if verb == "check":  # a check that passes promises ttl/3 more, on top of the chain
            assert lease._expires - self.now >= self.TTL / 3
            top = self.store.list(layout.lease_prefix("prop"))[-1]
            assert json.loads(self.store.get(top))["holder"]["token"] == lease.holder["token"]

    @rule(i=st.integers(0, 1), verb=st.sampled_from(["acquire", "renew", "check", "release"]),
          other=st.none() | st.sampled_from(["acquire", "renew", "check", "release"]), at=st.integers(1, 6))
    def act(self, i: int, verb: str, other: str | None, at: int) -> None:
        if other is not None:
            self.views[i].before(at, lambda: self._do(1 - i, other))
        self._do(i, verb)
        self.views[i].before(0, None)

    @rule(seconds=st.sampled_from([1.0, 15.0, 25.0, 41.0, 59.0, 61.0, 200.0]))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds

    @rule(i=st.integers(0, 1))
    def crash(self, i: int) -> None:
        self.leases[i] = self._fresh(i)  # the old holder is gone; its generations stay

    @invariant()
    def check_one_holder(self) -> None:
        live = [
            lease for lease in self.leases
            if lease._generation is not None and lease._lost is None and self.now < lease._expires
        ]
        assert len(live) <= 1
        if live:  # and the chain's top is its generation
            top = self.store.list(layout.lease_prefix("prop"))[-1]
            assert json.loads(self.store.get(top))["holder"]["token"] == live[0].holder["token"]

    def teardown(self) -> None:
        self.dir.cleanup()


class Interleaving(Store):
    """A view of a store that runs a callback just before its nth call (once)."""

    def __init__(self, inner: Store, check: Any) -> None:
        self.inner, self.check = inner, check
        self.account, self.bucket = inner.account, inner.bucket
        self.hook: tuple[int, Any] | None = None
        self.calls = 0

    def before(self, nth: int, fn: Any) -> None:
        self.hook, self.calls = ((nth, fn) if fn else None), 0

    def _tick(self) -> None:
        self.calls += 1
        if self.hook and self.calls == self.hook[0]:
            fn, self.hook = self.hook[1], None
            self.check()
            fn()
            self.check()

    def put(self, key: str, data: bytes) -> str:
        self._tick()
        return self.inner.put(key, data)

    def get(self, key: str) -> bytes:
        self._tick()
        return self.inner.get(key)

    def exists(self, key: str) -> bool:
        self._tick()
        return self.inner.exists(key)

    def list(self, prefix: str = "") -> list[str]:
        self._tick()
        return self.inner.list(prefix)

    def delete(self, key: str) -> None:
        self._tick()
        self.inner.delete(key)


TwoHolders.TestCase.settings = settings(
    max_examples=300, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_two_holders_never_both_hold = TwoHolders.TestCase
