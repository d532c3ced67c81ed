"""Run the ``fedring`` command with a fault planted in its object writes (the harness's hook).

``python -m tests.crash.bootstrap ARGS...`` is ``fedring ARGS...`` in a process whose stores
count their writes: every ``put`` of ``LocalStore`` and ``S3Store`` (``put_once`` and the
guarded views go through it), except the run lease's objects, whose renewals come at
times no run can repeat. What to do is read from ``FEDRING_CRASH`` (JSON):

- ``trace``: a file that gets one JSON line per write (``n``, ``bucket``, ``key``), flushed
  before the write's fault acts, so a killed process leaves its writes on record;
- ``kill_after``: n, SIGKILL this process right after its n-th write returned (or found its
  object there already: an earlier attempt's, which the caller adopts);
- ``fail_at``: n, the n-th write raises a transient ``StorageError`` once (``fault``:
  ``before`` the object is written, or ``after``, as when a PUT succeeds but its answer is
  lost);
- ``fail_every`` / ``fail_phase``: fail once, that way, the first write of every distinct
  key whose rank among the run's distinct keys is ``fail_phase`` modulo ``fail_every``
  (so ``fail_every`` runs fail every key of a run once);
- ``lease``: keyword arguments for every ``RunLease`` (short ``ttl``/``wait`` on S3).

This lives in the tests on purpose: production code has no hook for it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from typing import Any

from fedring import lease as lease_module
from fedring.errors import StorageError
from fedring.storage.local import LocalStore

LEASE = "/lease/"


class Plan:
    """The fault plan of this process, and its count of writes."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.n = 0
        self.ranks: dict[tuple[str, str], int] = {}
        self.lock = threading.Lock()
        self.trace = open(spec["trace"], "a", buffering=1) if spec.get("trace") else None

    def _fails(self, n: int, rank: int, first: bool) -> bool:
        s = self.spec
        if s.get("fail_at") == n:
            return True
        every = s.get("fail_every")
        return bool(every) and first and rank % every == s.get("fail_phase", 0)

    def write(self, store: Any, key: str, data: bytes, real: Any) -> Any:
        if LEASE in key:
            return real(store, key, data)
        with self.lock:
            self.n += 1
            n = self.n
            place = (store.bucket, key)
            first = place not in self.ranks
            rank = self.ranks.setdefault(place, len(self.ranks))
            fail = self._fails(n, rank, first)
        if self.trace:
            self.trace.write(json.dumps({"n": n, "bucket": store.bucket, "key": key, "fault": fail}) + "\n")
        after = self.spec.get("fault", "before") == "after"
        if fail and not after:
            raise StorageError(f"injected transient fault before write {n} ({store.bucket}/{key})")
        try:
            result = real(store, key, data)
        finally:  # also after a put that finds its object there (ObjectExists: an earlier attempt's, adopted)
            if self.spec.get("kill_after") == n:
                os.kill(os.getpid(), signal.SIGKILL)
        if fail:
            raise StorageError(f"injected transient fault after write {n} ({store.bucket}/{key})")
        return result


def install(spec: dict[str, Any]) -> Plan:
    plan = Plan(spec)
    classes: list[type] = [LocalStore]
    try:
        from fedring.storage.s3 import S3Store

        classes.append(S3Store)
    except ImportError:  # boto3 missing: local runs only
        pass
    for cls in classes:
        real = cls.put

        def put(self: Any, key: str, data: bytes, _real: Any = real) -> str:
            return plan.write(self, key, data, _real)

        cls.put = put  # type: ignore[method-assign]
    if spec.get("lease"):
        real_init = lease_module.RunLease.__init__

        def init(self: Any, store: Any, run: str, **options: Any) -> None:
            real_init(self, store, run, **{**spec["lease"], **options})

        lease_module.RunLease.__init__ = init  # type: ignore[method-assign]
    return plan


def main() -> None:
    install(json.loads(os.environ.get("FEDRING_CRASH", "{}")))
    from fedring.cli import main as fedring_main

    fedring_main(sys.argv[1:])


if __name__ == "__main__":
    main()
