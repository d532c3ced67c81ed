"""The run lease: one process at a time on a run, and a dead holder never blocks a resume.

How to call it (around the whole run, in the process that drives it)::

    from fedring.lease import RunLease

    with RunLease(host_store(cfg), cfg.run) as lease:  # RunBusy at once if a live process holds it
        for rnd in rounds:
            ...
            lease.check()  # RunBusy if another process took the run over: stop, commit nothing
            commit(...)

How it works. Objects are immutable, so the lease is a chain of generations
``runs/<run>/lease/<n>.json`` (``fedring.layout.lease``), each written with the store's
exclusive create (``Store.put``): whoever creates generation n+1 holds the run, and of
any processes that try at once exactly one succeeds. A generation names its holder
(host, machine, process id and start time, a random token), since when it holds the
run, and when the generation expires (``ttl`` after it was written).

- Acquire: read the highest generation. Held by a live holder: ``RunBusy``, naming it.
  Otherwise create the next one; whoever beat us to it is alive, so we read again and
  refuse.
- Alive: a holder on this machine (same boot, same PID namespace) is alive while its
  process runs with the same start time (a reused PID is not mistaken for it), so a
  SIGKILLed holder frees the run at once. Any other holder, and every holder when
  ``pid_liveness`` is off (the default for stores other than ``LocalStore``: on S3 the
  holders may be on other machines), is alive until its generation expires.
- Renew: a daemon thread writes the next generation every ``ttl/3``. A renewal that
  finds another holder's generation on top (it took over after ours expired) marks the
  lease lost, and ``check()`` raises ``RunBusy`` from then on. ``check()`` also renews
  by itself when the thread is late, so when it returns the lease holds for at least
  ``ttl/3`` more seconds.
- Release: a last generation in state ``released``, which the next process takes at
  once. Not a delete: the highest generation number must never go down, or a process
  that read the old number could create a generation that is "next" for it while a
  fresh process starts the chain again - two holders. For the same reason a take
  counts only if, listed again, its generation is the highest (a slow writer may
  re-create a superseded generation that was deleted).
- Superseded generations are deleted after each take (best effort): the chain stays at
  one or two objects.

Within a process, ``hold_run`` is the way in: it acquires the lease, or joins the one this
process holds already (the CLI takes the run before it starts Prefect, so a second process
is refused at once; the training flow, which deployments start without the CLI, takes it
too), and ``check_run`` is the check before a commit.

What remains: time-based liveness assumes the machines' clocks agree to well within
``ttl``; and a holder paused (not killed) for more than ``ttl`` between ``check()`` and
a write could write after a takeover. Its writes are exclusive creates then, so they
cannot replace what the new holder wrote (``ObjectExists``; ``put_once`` adopts).
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from fedring import layout
from fedring.errors import ConfigError, FedringError, ObjectExists, ObjectNotFound, RunBusy, StorageError
from fedring.storage.base import Store
from fedring.storage.local import LocalStore

HELD = "held"
RELEASED = "released"


class RunLease:
    """The lease of one run in the host's store (see the module docstring).

    Settings, keyword-only:

    - ``ttl``: seconds a generation stays valid without renewal. The longest a dead holder
      blocks the run where its process cannot be checked; renewal writes one small object
      every ``ttl/3``.
    - ``wait``: seconds ``acquire`` waits for a live holder to release or expire before it
      refuses (default 0: refuse at once).
    - ``pid_liveness``: judge holders on this machine by their process (default: on for a
      ``LocalStore``, off for other stores).
    - ``clock``: wall-clock seconds (tests pass their own); ``autorenew``: run the renewal
      thread (tests of interleavings call ``renew`` themselves).
    """

    def __init__(
        self,
        store: Store,
        run: str,
        *,
        ttl: float = 60.0,
        wait: float = 0.0,
        pid_liveness: bool | None = None,
        clock: Callable[[], float] = time.time,
        autorenew: bool = True,
    ) -> None:
        if not ttl > 0:
            raise ConfigError(f"lease ttl must be a positive number of seconds, not {ttl!r}")
        if not wait >= 0:
            raise ConfigError(f"lease wait must be >= 0 seconds, not {wait!r}")
        self.store = store
        self.run = layout.check_name("run", run)
        self.ttl, self.wait, self.clock, self.autorenew = ttl, wait, clock, autorenew
        self.pid_liveness = isinstance(store, LocalStore) if pid_liveness is None else pid_liveness
        pid = os.getpid()
        self.holder = {
            "host": socket.gethostname(),
            "machine": _machine(),
            "pid": pid,
            "start": _process_start(pid),
            "token": secrets.token_hex(16),  # tells this lease's generations from anyone else's
        }
        self._generation: int | None = None
        self._since = self._expires = 0.0
        self._lost: RunBusy | None = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the verbs -------------------------------------------------------------------------

    def acquire(self) -> RunLease:
        """Take the run, or raise ``RunBusy`` naming its live holder (after ``wait`` seconds)."""
        deadline = time.monotonic() + self.wait
        with self._lock:
            if self._generation is not None:
                raise RuntimeError("this lease is already held")
            self._lost, self._stop = None, threading.Event()
            while True:
                latest = self._latest()
                if latest is None or not self._alive(latest):
                    if self._take(0 if latest is None else latest["generation"] + 1, HELD, since=self.clock()):
                        break
                    continue  # another process took that generation first: read who it is
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RunBusy(self._busy(latest))
                time.sleep(min(1.0, left))
        if self.autorenew:
            self._thread = threading.Thread(
                target=self._renew_forever, args=(self._stop,), name=f"lease-{self.run}", daemon=True
            )
            self._thread.start()
        return self

    def renew(self) -> None:
        """Write the next generation; ``RunBusy`` if another process has taken the run over."""
        with self._lock:
            self._require_held()
            latest = self._latest()
            ours = latest is not None and latest["holder"]["token"] == self.holder["token"]
            if not (ours and self._take(latest["generation"] + 1, HELD, since=self._since)):
                self._lost = RunBusy(self._taken_over())
                raise self._lost

    def check(self) -> None:
        """Raise ``RunBusy`` if the run was taken over; call it before every commit.

        When it returns, this process holds the run for at least ``ttl/3`` more seconds: if
        the renewal thread is late, ``check`` renews here (a ``StorageError`` then means the
        lease could not be confirmed, and the caller should stop too).
        """
        with self._lock:
            self._require_held()
            if self._expires - self.clock() < self.ttl / 3:
                self.renew()

    def release(self) -> None:
        """End the lease with a ``released`` generation, which the next process takes at once."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        with self._lock:
            if self._generation is None or self._lost is not None:
                return  # never held, already released, or taken over: nothing of ours to end
            self._generation = None  # from here on this process no longer holds the run
            latest = self._latest()
            if latest is not None and latest["holder"]["token"] == self.holder["token"]:
                self._take(latest["generation"] + 1, RELEASED, since=self._since)

    def __enter__(self) -> RunLease:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.release()
            return
        try:
            self.release()
        except FedringError:
            pass  # the body's error is the one to report; the lease expires or dies with us

    # -- the chain of generations ----------------------------------------------------------

    def _latest(self) -> dict[str, Any] | None:
        """The highest generation, or None when the run was never leased."""
        prefix = layout.lease_prefix(self.run)
        for _ in range(10):
            keys = self.store.list(prefix)
            if not keys:
                return None
            try:
                return json.loads(self.store.get(keys[-1]))
            except ObjectNotFound:  # superseded and deleted between the listing and the read
                continue
        raise StorageError(f"the lease at {self.store.where(prefix)} changed under ten reads in a row")

    def _take(self, generation: int, state: str, *, since: float) -> bool:
        """Create ``generation``; True if it is ours and, listed again, the highest."""
        now = self.clock()
        doc = {
            "run": self.run,
            "generation": generation,
            "state": state,
            "holder": self.holder,
            "since": since,
            "written": now,
            "expires": now + self.ttl,
        }
        key = layout.lease(self.run, generation)
        try:
            self.store.put(key, json.dumps(doc, sort_keys=True).encode())
        except (ObjectExists, ObjectNotFound):  # someone else's (ObjectNotFound: being deleted)
            return False
        keys = self.store.list(layout.lease_prefix(self.run))
        if not keys or keys[-1] != key:  # we re-created a superseded, deleted generation
            return False
        if state == HELD:
            self._generation, self._since, self._expires = generation, since, doc["expires"]
        for old in keys[:-1]:
            try:
                self.store.delete(old)
            except StorageError:
                break  # best effort: the next take deletes them
        return True

    def _alive(self, doc: dict[str, Any]) -> bool:
        if doc["state"] == RELEASED:
            return False
        runs = _runs(doc["holder"]) if self.pid_liveness else None
        return runs if runs is not None else self.clock() < doc["expires"]

    def _require_held(self) -> None:
        if self._lost is not None:
            raise self._lost
        if self._generation is None:
            raise RuntimeError("the lease is not held: acquire() first (and not after release())")

    def _renew_forever(self, stop: threading.Event) -> None:
        while not stop.wait(self.ttl / 3):
            try:
                self.renew()
            except RunBusy:
                return  # check() raises from now on
            except FedringError:
                continue  # storage trouble: next tick; check() renews itself if this goes on

    # -- messages --------------------------------------------------------------------------

    def _busy(self, doc: dict[str, Any]) -> str:
        h = doc["holder"]
        here = self.pid_liveness and _runs(h) is not None
        frees = (
            "the run frees itself as soon as that process ends"
            if here
            else f"if it died, the run frees itself when its lease expires at {_utc(doc['expires'])}"
        )
        return (
            f"run {self.run!r} is busy: process {h['pid']} on host {h['host']!r} holds it since "
            f"{_utc(doc['since'])} (lease renewed {_utc(doc['written'])}). Wait for that process to "
            f"finish or stop it; {frees}."
        )

    def _taken_over(self) -> str:
        try:
            latest = self._latest()
        except FedringError:
            latest = None
        who = (
            f"by process {latest['holder']['pid']} on host {latest['holder']['host']!r} at {_utc(latest['written'])}"
            if latest is not None
            else "(its lease objects are gone)"
        )
        return (
            f"run {self.run!r} was taken over {who} after this process's lease expired at "
            f"{_utc(self._expires)} without renewal; this process stops before committing anything more"
        )


_HELD: dict[tuple[str, ...], RunLease] = {}  # the leases this process holds, by store and run


def _place(store: Store, run: str) -> tuple[str, ...]:
    """Which run of which bucket: a directory on this machine, or a bucket behind an endpoint."""
    where = getattr(store, "base", None) or getattr(store, "endpoint_url", None) or ""
    return type(store).__name__, str(where), store.bucket, run


@contextmanager
def hold_run(store: Store, run: str, **options: Any) -> Iterator[RunLease]:
    """Hold ``run`` for the body: join this process's lease on it, or acquire one (``RunBusy``).

    The outermost holder releases it when its body ends, however it ends.
    """
    place = _place(store, run)
    if place in _HELD:
        yield _HELD[place]
        return
    with RunLease(store, run, **options) as lease:
        _HELD[place] = lease
        try:
            yield lease
        finally:
            del _HELD[place]


def check_run(store: Store, run: str) -> None:
    """Before a commit: ``RunBusy`` if this process's lease on ``run`` was taken over.

    Committing without holding the run is a bug of the caller, hence ``RuntimeError``.
    """
    lease = _HELD.get(_place(store, run))
    if lease is None:
        raise RuntimeError(f"this process does not hold run {run!r}: commit only inside hold_run()")
    lease.check()


def _utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@functools.cache
def _machine() -> str:
    """This boot of this machine and this PID namespace: where a holder's PID means something."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        return f"{boot}/{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return ""  # no /proc: holders are judged by time only


def _process_start(pid: int) -> int | None:
    """Start time (clock ticks after boot) of a running process; None if none runs or it is a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # the command name, in parentheses, may hold spaces
    return None if fields[0] in ("Z", "X") else int(fields[19])


def _runs(holder: dict[str, Any]) -> bool | None:
    """Whether the holder's process still runs; None if that cannot be told from here."""
    if not holder.get("machine") or holder["machine"] != _machine() or holder.get("start") is None:
        return None
    return _process_start(holder["pid"]) == holder["start"]
