"""Races on one key between two OS processes, on LocalStore and S3Store; put and lease costs.

Target (the exactly-once issue): in 1,000 two-process races on one key, exactly one
winner every time and no unreadable object, on LocalStore and S3Store, both when the two
writers bring different bytes and when they bring the same bytes.

Two worker processes (spawned) meet at a barrier before each race, then both write the
key. A race is won right when exactly one writer created the object (``_create`` says so:
True for the creator, False for a same-bytes no-op, ``ObjectExists`` for other bytes)
and every read - each writer's, right after its own write returned, and the parent's at
the end - returns the creator's bytes. ``tests/test_store_contract.py`` runs the same
races (fewer of them) and asserts on every record.

Also, side by side in the same run: ``LocalStore.put`` against the check-then-rename put
it replaced (the ``previous`` store kind, kept here only as the baseline; ``--stores
previous`` races it too, to show the failure the target is about), and the run lease's
acquire, renew and release.

    .venv/bin/python benchmarks/bench_races.py [--races 1000] [--stores local s3 previous]
        [--size 4096] [--endpoint URL --access-key K --secret-key S]

Prints one JSON line per measurement; starts the loopback Ceph radosgw unless given an
endpoint.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fedring.errors import ObjectExists  # noqa: E402
from fedring.storage import LocalStore, Store, sha256_hex  # noqa: E402

SIDES = ("a", "b")


class PreviousLocalStore(LocalStore):
    """The check-then-rename put that LocalStore had before atomic create (baseline only)."""

    def _create(self, key: str, data: bytes, digest: str) -> bool:
        data_path, meta_path = self._paths(key)
        if meta_path.exists():
            if json.loads(meta_path.read_text())["sha256"] == digest:
                return False
            raise ObjectExists(f"{self.where(key)} already holds other bytes; objects are immutable")
        _replace(data_path, data)
        _replace(meta_path, json.dumps({"sha256": digest, "size": len(data)}).encode())
        return True


def _replace(path: Path, data: bytes) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def store_from_spec(spec: dict[str, Any]) -> Store:
    """A store from plain values, so that spawned processes can open their own."""
    if spec["kind"] in ("local", "previous"):
        kind = LocalStore if spec["kind"] == "local" else PreviousLocalStore
        return kind(spec["root"], spec["bucket"], account=spec.get("account"))
    import boto3

    from fedring.storage.s3 import S3Store

    session = boto3.Session(
        aws_access_key_id=spec["access_key"], aws_secret_access_key=spec["secret_key"], region_name="us-east-1"
    )
    return S3Store(
        spec["bucket"], session=session, account=spec.get("account"), endpoint_url=spec["endpoint"],
        region="us-east-1", addressing_style="path", max_attempts=3,
    )


def payload(race: int, side: str, size: int) -> bytes:
    block = hashlib.sha256(f"{side}:{race}".encode()).digest()
    return (block * (size // len(block) + 1))[:size]


def _outcome(call: Any) -> str:
    try:
        return call()
    except ObjectExists:
        return "exists"
    except Exception as exc:  # every other failure is recorded, and counts against the target
        return f"error {type(exc).__name__}: {exc}"


def _racer(spec: dict[str, Any], prefix: str, races: int, same: bool, size: int, side: str,
           barrier: Any, results: Any) -> None:
    """One writer: at each barrier, write race i's key, then read it back."""
    store = store_from_spec(spec)
    out = []
    for i in range(races):
        key, data = f"{prefix}/{i:06d}", payload(i, "a" if same else side, size)
        digest = sha256_hex(data)
        barrier.wait(timeout=120)
        wrote = _outcome(lambda: "created" if store._create(key, data, digest) else "same")  # type: ignore[attr-defined]
        read = _outcome(lambda: sha256_hex(store.get(key)))
        out.append((wrote, read))
    results.put((side, out))


def run_races(spec: dict[str, Any], races: int, *, same: bool, size: int = 4096) -> list[dict[str, Any]]:
    """``races`` two-process races on fresh keys; one record per race (see ``judge``)."""
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(len(SIDES)), ctx.Queue()
    prefix = f"races/{uuid.uuid4().hex[:12]}"
    procs = [ctx.Process(target=_racer, args=(spec, prefix, races, same, size, s, barrier, results)) for s in SIDES]
    for p in procs:
        p.start()
    try:
        by_side = dict(_collect(results, procs))
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    store = store_from_spec(spec)
    records = []
    for i in range(races):
        key = f"{prefix}/{i:06d}"
        records.append({
            "key": key,
            "wrote": {s: by_side[s][i][0] for s in SIDES},
            "read": {s: by_side[s][i][1] for s in SIDES},
            "final": _outcome(lambda: sha256_hex(store.get(key))),
            "payload": {s: sha256_hex(payload(i, "a" if same else s, size)) for s in SIDES},
        })
    return records


def _collect(results: Any, procs: list[Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Both racers' records; fails at once, naming it, if a racer dies instead."""
    import queue

    got: list[tuple[str, list[tuple[str, str]]]] = []
    while len(got) < len(procs):
        try:
            got.append(results.get(timeout=1))
        except queue.Empty:
            dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"a racer process died (exit code {dead[0]}) before reporting") from None
    return got


def judge(record: dict[str, Any], *, same: bool) -> tuple[bool, bool]:
    """(exactly one creator, the other told the truth, every read gave its bytes; some read failed).

    A read "fails" when it raised or returned bytes that neither writer wrote.
    """
    winners = [s for s, w in record["wrote"].items() if w == "created"]
    reads = [*record["read"].values(), record["final"]]
    told = sorted(record["wrote"].values()) == ["created", "same" if same else "exists"]
    ok = len(winners) == 1 and told and all(r == record["payload"][winners[0]] for r in reads)
    return ok, any(r not in record["payload"].values() for r in reads)


def emit(**row: object) -> None:
    print(json.dumps(row), flush=True)


def bench_races(kind: str, spec: dict[str, Any], races: int, size: int) -> None:
    for same in (False, True):
        t0 = time.perf_counter()
        records = run_races(spec, races, same=same, size=size)
        seconds = time.perf_counter() - t0
        verdicts = [judge(r, same=same) for r in records]
        errors = sorted({w for r in records for w in [*r["wrote"].values(), *r["read"].values(), r["final"]]
                         if w.startswith("error")})
        emit(bench="races", store=kind, bytes="same" if same else "different", size=size, races=races,
             winners_ok=sum(ok for ok, _ in verdicts), unreadable=sum(bad for _, bad in verdicts),
             seconds=round(seconds, 2), errors=errors[:3])


def bench_put(root: str, repeat: int) -> None:
    """LocalStore.put against the previous check-then-rename put, interleaved, per object size."""
    stores = {"atomic": LocalStore(root, "put-atomic"), "previous": PreviousLocalStore(root, "put-previous")}
    for size in (1024, 1_700_000):  # a small stage object; the demo CNN's update (421,834 float32)
        times: dict[str, list[float]] = {k: [] for k in stores}
        for i in range(repeat):
            data = payload(i, "put", size)
            for name, store in sorted(stores.items(), reverse=i % 2 == 1):  # alternate who goes first
                t = time.perf_counter()
                store.put(f"outbox/bench/{size}/{i:06d}", data)
                times[name].append(time.perf_counter() - t)
        med = {k: statistics.median(v) for k, v in times.items()}
        emit(bench="local_put", size=size, repeat=repeat, atomic_ms=round(1e3 * med["atomic"], 3),
             previous_ms=round(1e3 * med["previous"], 3), ratio=round(med["atomic"] / med["previous"], 3))


def bench_lease(kind: str, spec: dict[str, Any], repeat: int) -> None:
    from fedring.lease import RunLease

    store = store_from_spec(spec)
    times: dict[str, list[float]] = {"acquire": [], "renew": [], "release": []}
    for _ in range(repeat):
        lease = RunLease(store, "bench-lease", autorenew=False)
        for verb in times:
            t = time.perf_counter()
            getattr(lease, verb)()
            times[verb].append(time.perf_counter() - t)
    emit(bench="lease", store=kind, repeat=repeat, objects_left=len(store.list("runs/bench-lease/")),
         **{f"{verb}_ms": round(1e3 * statistics.median(v), 2) for verb, v in times.items()})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--races", type=int, default=1000)
    ap.add_argument("--size", type=int, default=4096, help="bytes per object in the races")
    ap.add_argument("--stores", nargs="+", default=["local", "s3"], choices=["local", "s3", "previous"])
    ap.add_argument("--put-repeat", type=int, default=200)
    ap.add_argument("--endpoint", help="use a running S3 server instead of starting Ceph")
    ap.add_argument("--access-key")
    ap.add_argument("--secret-key")
    args = ap.parse_args()

    emit(bench="machine", load_average=os.getloadavg(), cpus=os.cpu_count())
    server = None
    with tempfile.TemporaryDirectory(prefix="bench-races-") as root:
        try:
            for kind in args.stores:
                if kind == "s3":
                    if args.endpoint:
                        endpoint, key, secret = args.endpoint, args.access_key, args.secret_key
                    else:
                        from tests.s3.server import start

                        server = start()
                        owner = server.principals["outsider"]
                        endpoint, key, secret = server.endpoint, owner.access_key, owner.secret_key
                        emit(bench="server", endpoint=endpoint, seconds_to_start=round(server.seconds_to_start, 1))
                    spec = {"kind": "s3", "endpoint": endpoint, "access_key": key, "secret_key": secret,
                            "bucket": f"bench-races-{uuid.uuid4().hex[:8]}"}
                    store_from_spec(spec).client.create_bucket(Bucket=spec["bucket"])  # type: ignore[attr-defined]
                else:
                    spec = {"kind": kind, "root": root, "bucket": f"races-{kind}"}
                bench_races(kind, spec, args.races, args.size)
                if kind != "previous":
                    bench_lease(kind, spec, repeat=20)
            bench_put(root, args.put_repeat)
        finally:
            if server is not None:
                from tests.s3.server import stop

                stop(server)


if __name__ == "__main__":
    main()
