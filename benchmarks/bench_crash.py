"""The crash-injection sweep: a SIGKILL after every object write of a run, and a fault at every write.

Target (the exactly-once issue): every kill point and every fail-once fault of a
3-account, 2-round secure run ends, after at most one resume, with models bit-identical
to the uninterrupted run and no account dropped because of the fault. Reported: the kill
points covered (all object writes of the run) and the resume time per kill point (median).

For each kind of run (``--runs``: secure, plain; on LocalStore, or on the loopback Ceph
radosgw with ``--s3``) an uninterrupted reference run gives the writes in order; then for
each write k chosen by ``--points``, and each fault of ``--faults``:

- ``kill``: ``fedring run`` is SIGKILLed right after its k-th write, then run once more;
- ``before`` / ``after``: the k-th write raises a transient StorageError once, before the
  object is written or after (a lost answer); the run must end by itself.

Either way the run must exit 0 with the reference's plaintext models (SHA-256 per round),
participants and dropped, and every object of every bucket must read back. The hook is
``tests/crash/bootstrap.py``; all runs share one Prefect server. Client stages run in the
traced process (``FEDRING_WORKERS=0``, as in the tests), so every write of the run is a
kill point, the clients' as well as the host's.

    .venv/bin/python benchmarks/bench_crash.py                      # smoke: 5 kill points, secure
    .venv/bin/python benchmarks/bench_crash.py --points all --faults kill before after --runs secure plain
    .venv/bin/python benchmarks/bench_crash.py --points kinds --s3  # first write of each kind, on Ceph

``--jobs N`` runs N points at once (each its own storage; resume times grow with N).

``--points``: ``all``, ``kinds`` (the first write of each kind, and the last write), a
count N (evenly spaced), or a list such as ``1-20,97,183``. Prints one JSON line per point
and one summary line per run and fault. Hours for ``all`` (about 45 s a kill point here).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fedring.cli.prefect_env import prefect_server  # noqa: E402
from tests.crash.harness import (  # noqa: E402
    Place,
    Reference,
    local_place,
    outcome,
    reference_run,
    run_cli,
    s3_place,
    unreadable,
)

S3_LEASE = {"lease": {"ttl": 3, "wait": 15}}  # a SIGKILLed holder's S3 lease expires in 3 s


def emit(obj: dict[str, Any]) -> None:
    print(json.dumps(obj), flush=True)


def choose(spec: str, ref: Reference) -> list[int]:
    total = len(ref.trace)
    if spec == "all":
        return list(range(1, total + 1))
    if spec == "kinds":
        return sorted({*ref.kinds().values(), total})
    if spec.isdigit():
        n = min(int(spec), total)
        return sorted({round(1 + i * (total - 1) / max(1, n - 1)) for i in range(n)})
    points: list[int] = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        points += range(int(lo), int(hi or lo) + 1)
    return [p for p in points if 1 <= p <= total]


def one_point(ref: Reference, make: Any, fault: str, k: int, env: dict[str, str], extra: dict) -> dict[str, Any]:
    place: Place = make(f"{fault}-{k}")
    row: dict[str, Any] = {"point": k, "kind": ref.kind_of_point(k), "fault": fault}
    if fault == "kill":
        first = run_cli(place, env, {**extra, "kill_after": k}, label="killed")
        row["killed"] = first.code == -9 and len(first.trace) == k
        last = run_cli(place, env, extra, label="resumed")
        row["resume_seconds"] = round(last.seconds, 2)
    else:
        last = run_cli(place, env, {**extra, "fail_at": k, "fault": fault}, label="faulted")
        row["seconds"] = round(last.seconds, 2)
    row["exit"] = last.code
    if last.code == 0:
        got = outcome(place)
        row["same_models"] = got["models"] == ref.outcome["models"]
        row["same_participants"] = got["participants"] == ref.outcome["participants"]
        row["unreadable"] = len(unreadable(place))
    else:
        row["error"] = last.out.strip().splitlines()[-1:] if last.out.strip() else []
    row["ok"] = (last.code == 0 and row.get("killed", True) and row["same_models"] and row["same_participants"]
                 and row["unreadable"] == 0)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", nargs="+", choices=["secure", "plain"], default=["secure"])
    ap.add_argument("--faults", nargs="+", choices=["kill", "before", "after"], default=["kill"])
    ap.add_argument("--points", default="5", help="all, kinds, a count, or a list such as 1-20,97")
    ap.add_argument("--s3", action="store_true", help="run on the loopback Ceph radosgw (tests/s3/server.py)")
    ap.add_argument("--workdir", type=Path, default=None, help="keep the runs here (default: a temporary folder)")
    ap.add_argument("--jobs", type=int, default=1,
                    help="points run at once, each its own storage and run (resume times grow with it)")
    args = ap.parse_args()

    with ExitStack() as stack:
        work = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-crash-")))
        # Client stages in the traced process, as in the tests: a worker process's writes
        # would be neither counted nor killed, and "every write" would mean the host's only.
        env = dict(os.environ, PREFECT_HOME=str(work / "prefect-home"), FEDRING_WORKERS="0")
        stack.enter_context(prefect_server(env))
        fed = _s3_federation(stack) if args.s3 else None
        for kind in args.runs:
            secure = kind == "secure"
            counter = iter(range(1_000_000))
            lock = threading.Lock()

            def make(label: str, kind: str = kind, secure: bool = secure) -> Place:
                with lock:
                    base = work / kind / f"{label}-{next(counter)}"
                if fed is None:
                    return local_place(base, secure=secure)
                run = f"bench-{kind}-{label}-{time.time_ns() % 10**9}"
                return s3_place(base, fed, run=run, keys=work / "s3-keys", secure=secure)

            extra = S3_LEASE if fed else {}
            if fed is not None:
                reference_run(make("warm-up"), env, extra)  # partitions and keys exist from here on
            started = time.monotonic()
            ref = reference_run(make("reference"), env, extra)
            emit({"bench": "crash", "run": kind, "s3": bool(fed), "reference_writes": len(ref.trace),
                  "reference_seconds": round(time.monotonic() - started, 1), "kinds": len(ref.kinds())})
            points = choose(args.points, ref)
            for fault in args.faults:
                rows = []

                def point(k: int, fault: str = fault, kind: str = kind) -> None:
                    row = one_point(ref, make, fault, k, env, extra)
                    with lock:
                        rows.append(row)
                        emit({"bench": "crash", "run": kind, "s3": bool(fed), "jobs": args.jobs, **row})

                with ThreadPoolExecutor(max(1, args.jobs)) as pool:
                    list(pool.map(point, points))
                times = [r["resume_seconds"] for r in rows if "resume_seconds" in r]
                failures = [r["point"] for r in rows if not r["ok"]]
                emit({
                    "bench": "crash", "summary": True, "run": kind, "s3": bool(fed), "fault": fault, "jobs": args.jobs,
                    "writes": len(ref.trace), "points_covered": len(rows), "failures": failures,
                    "resume_seconds_median": round(statistics.median(times), 2) if times else None,
                    "target_met": not failures and len(rows) == len(ref.trace),
                })


def _s3_federation(stack: ExitStack) -> Any:
    """The provisioned host + 3 clients of the S3 tests, on a Ceph radosgw started here."""
    from fedring.provision import apply
    from tests.s3.conftest import CLIENTS, Federation, s3_config
    from tests.s3.server import shared_server

    server = stack.enter_context(shared_server())
    cfg = s3_config(server, run="bench-crash")
    sessions = {name: server.principals[name].session() for name in ("host", *CLIENTS)}
    apply(cfg, sessions=sessions)
    return Federation(cfg, sessions, server)


if __name__ == "__main__":
    main()
