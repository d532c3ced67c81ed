"""One contract, every store: ``LocalStore`` and ``S3Store`` (on a real Ceph radosgw) pass the
same tests. The S3 case needs the loopback server of ``tests/s3/server.py``; it is skipped,
with a loud reason, only when Ceph is not installed.

Races and crashes use real OS processes: two spawned writers meeting at a barrier before
each race (``benchmarks/bench_races.py`` holds the harness; it runs 1,000 races where these
tests run 50), and writers killed with SIGKILL in the middle of ``put``.
"""

from __future__ import annotations

import hashlib
import json
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.bench_races import payload, run_races
from fedring.errors import AccessDenied, IntegrityError, ObjectExists, ObjectNotFound
from fedring.storage import GuardedStore, LocalStore, Store

MiB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[1]
RACES = 50


@pytest.fixture(scope="session")
def s3_server() -> Iterator[object]:
    from tests.s3.server import shared_server

    with shared_server() as server:
        yield server


Backend = tuple[Store, Callable[[str, bytes], None], dict[str, Any]]  # store, corrupt(), spec for other processes


def _local(tmp_path, request) -> Backend:
    store = LocalStore(tmp_path, "bucket-a", account="alice")

    def corrupt(key: str, data: bytes) -> None:
        (tmp_path / "bucket-a" / key).write_bytes(data)

    return store, corrupt, {"kind": "local", "root": str(tmp_path), "bucket": "bucket-a", "account": "alice"}


def _s3(tmp_path, request) -> Backend:
    from fedring.storage.s3 import S3Store

    server = request.getfixturevalue("s3_server")
    owner = server.principals["outsider"]
    store = S3Store(
        f"contract-{uuid.uuid4().hex[:12]}",
        session=owner.session(),
        account="alice",
        endpoint_url=server.endpoint,
        region="us-east-1",
        addressing_style="path",
        max_attempts=3,
        multipart_threshold=5 * MiB,  # so that the 11 MiB case below goes up in parts
        part_size=5 * MiB,
    )
    store.client.create_bucket(Bucket=store.bucket)

    def corrupt(key: str, data: bytes) -> None:  # other bytes under the recorded SHA-256
        meta = store.client.head_object(Bucket=store.bucket, Key=key)["Metadata"]
        store.client.put_object(Bucket=store.bucket, Key=key, Body=data, Metadata=meta)

    spec = {"kind": "s3", "endpoint": server.endpoint, "access_key": owner.access_key,
            "secret_key": owner.secret_key, "bucket": store.bucket, "account": "alice"}
    return store, corrupt, spec


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def backend(request, tmp_path) -> Backend:
    return {"local": _local, "s3": _s3}[request.param](tmp_path, request)


@pytest.fixture
def store(backend) -> Store:
    return backend[0]


def test_put_returns_sha256_and_get_returns_the_bytes(store: Store) -> None:
    digest = store.put("outbox/run/0001/train/update", b"weights")
    assert digest == hashlib.sha256(b"weights").hexdigest()
    assert store.get("outbox/run/0001/train/update") == b"weights"


def test_empty_object_round_trips(store: Store) -> None:
    store.put("public/empty", b"")
    assert store.get("public/empty") == b""


def test_same_bytes_again_is_a_no_op(store: Store) -> None:
    first = store.put("inbox/k", b"same")
    assert store.put("inbox/k", b"same") == first
    assert store.get("inbox/k") == b"same"


def test_other_bytes_are_refused_and_the_object_is_kept(store: Store) -> None:
    store.put("inbox/k", b"first")
    with pytest.raises(ObjectExists) as err:
        store.put("inbox/k", b"second")
    assert "'alice'" in str(err.value) and repr(store.bucket) in str(err.value) and "'inbox/k'" in str(err.value)
    assert store.get("inbox/k") == b"first"


def test_missing_object_is_not_found_and_named(store: Store) -> None:
    assert not store.exists("outbox/none")
    with pytest.raises(ObjectNotFound) as err:
        store.get("outbox/none")
    assert "'alice'" in str(err.value) and repr(store.bucket) in str(err.value) and "'outbox/none'" in str(err.value)


def test_exists_after_put(store: Store) -> None:
    store.put("private/x", b"1")
    assert store.exists("private/x")


def test_list_by_prefix_is_sorted_and_exact(store: Store) -> None:
    for key in ("outbox/r/0002/b", "outbox/r/0001/a", "inbox/r/0001/a", "outboxed/x"):
        store.put(key, key.encode())
    assert store.list("outbox/") == ["outbox/r/0001/a", "outbox/r/0002/b"]
    assert store.list("outbox/r/0002/") == ["outbox/r/0002/b"]
    assert store.list("nothing/") == []
    assert store.list() == sorted(["outbox/r/0002/b", "outbox/r/0001/a", "inbox/r/0001/a", "outboxed/x"])


def test_corrupted_object_fails_integrity(backend) -> None:
    store, corrupt, _ = backend
    store.put("outbox/model", b"good bytes")
    corrupt("outbox/model", b"evil bytes")
    with pytest.raises(IntegrityError) as err:
        store.get("outbox/model")
    assert "'outbox/model'" in str(err.value)


def test_large_object_round_trips_and_stays_immutable(store: Store) -> None:
    data = bytes(range(256)) * (11 * MiB // 256) + b"tail"  # above the S3 multipart threshold here
    digest = store.put("outbox/big", data)
    assert store.get("outbox/big") == data
    assert store.put("outbox/big", data) == digest
    with pytest.raises(ObjectExists):
        store.put("outbox/big", data[:-4] + b"TAIL")
    assert store.list("outbox/") == ["outbox/big"]


@pytest.mark.parametrize("key", ["", "/abs", "a//b", "a/../b", "./a"])
def test_bad_keys_are_refused(store: Store, key: str) -> None:
    with pytest.raises(ValueError):
        store.put(key, b"x")


def test_delete_retires_an_object_and_absent_keys_are_a_no_op(store: Store) -> None:
    store.put("registry/m/000001/model/000001", b"old")
    store.put("registry/m/000001/model/000002", b"new")

    store.delete("registry/m/000001/model/000001")
    store.delete("registry/m/000001/model/000099")

    assert not store.exists("registry/m/000001/model/000001")
    assert store.list("registry/m/") == ["registry/m/000001/model/000002"]


# -- put_once: adopt the first writer's object ----------------------------------------------


def test_put_once_writes_when_absent_and_returns_the_first_writers_bytes_after(store: Store) -> None:
    assert store.put_once("outbox/r/0001/reveal/to-host", b"first") == b"first"

    assert store.put_once("outbox/r/0001/reveal/to-host", b"second") == b"first"
    assert store.put_once("outbox/r/0001/reveal/to-host", b"first") == b"first"
    assert store.get("outbox/r/0001/reveal/to-host") == b"first"


def test_put_once_on_a_write_only_prefix_adopts_nothing_it_cannot_read(tmp_path) -> None:
    # Prepare: the host's local view of a client bucket (write inbox/, read outbox/ only).
    inner = LocalStore(tmp_path, "fedring-alpha", account="alpha")
    view = GuardedStore(inner, principal="host 'host'", read=("outbox/",), write=("inbox/",))
    view.put("inbox/r/0001/model", b"sealed once")
    # Execute / Assert: the same bytes are a no-op; other bytes cannot be adopted unread.
    assert view.put_once("inbox/r/0001/model", b"sealed once") == b"sealed once"
    with pytest.raises(AccessDenied, match="host 'host' may not read account 'alpha', bucket 'fedring-alpha'"):
        view.put_once("inbox/r/0001/model", b"sealed again, other nonce")
    assert inner.get("inbox/r/0001/model") == b"sealed once"


# -- races between processes ----------------------------------------------------------------


@pytest.mark.parametrize("same", [False, True], ids=["different-bytes", "same-bytes"])
def test_two_processes_racing_on_one_key_give_one_winner_and_its_readable_object(backend, same: bool) -> None:
    # Prepare
    _, _, spec = backend
    # Execute: RACES races, each two spawned processes released together by a barrier.
    records = run_races(spec, RACES, same=same)
    # Assert: one creator per race; the other was told "same bytes" or ObjectExists; every read
    # (each writer's own right after its write, and ours after all races) gives the creator's bytes.
    loser = "same" if same else "exists"
    for r in records:
        assert sorted(r["wrote"].values()) == ["created", loser], r
        winner = next(side for side, w in r["wrote"].items() if w == "created")
        assert [*r["read"].values(), r["final"]] == [r["payload"][winner]] * 3, r
    assert len(records) == RACES


# -- SIGKILL in the middle of put --------------------------------------------------------------

WRITER = """
import json, sys
from benchmarks.bench_races import payload, store_from_spec
store, prefix = store_from_spec(json.loads(sys.argv[1])), sys.argv[2]
print("writing", flush=True)
i = 0
while True:
    store.put(f"{prefix}/{i:06d}", payload(i, "crash", 1000 + 997 * (i % 50)))
    i += 1
"""


def _spawn(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True)


def test_a_writer_killed_at_a_random_moment_leaves_only_whole_objects(backend) -> None:
    store, _, spec = backend
    rng = random.Random(20261128)
    for attempt in range(5):
        # Prepare / Execute: a process putting objects in a loop is SIGKILLed at a random moment.
        prefix = f"crash/{attempt}"
        writer = _spawn(WRITER, json.dumps(spec), prefix)
        assert writer.stdout is not None and writer.stdout.readline() == "writing\n"
        time.sleep(rng.uniform(0.05, 0.6))
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        # Assert: every listed object is whole (no temporary file is listed, no gap) ...
        listed = store.list(prefix + "/")
        assert listed == [f"{prefix}/{i:06d}" for i in range(len(listed))]
        assert listed, "the writer was killed before its first object: sleep longer"
        for i, key in enumerate(listed):
            assert store.get(key) == payload(i, "crash", 1000 + 997 * (i % 50))
        # ... the put the kill interrupted either happened or not, and the key works afterwards ...
        n = len(listed)
        interrupted, killed_bytes = f"{prefix}/{n:06d}", payload(n, "crash", 1000 + 997 * (n % 50))
        adopted = store.put_once(interrupted, b"written after the crash")
        assert adopted in (killed_bytes, b"written after the crash")
        assert store.get(interrupted) == adopted
        # ... and putting the same bytes again is a no-op.
        store.put(listed[-1], payload(n - 1, "crash", 1000 + 997 * ((n - 1) % 50)))


KILLED_AT = """
import json, os, signal, sys
from benchmarks.bench_races import store_from_spec
store = store_from_spec(json.loads(sys.argv[1]))
name, nth = sys.argv[2], int(sys.argv[3])
real, calls = getattr(os, name), [0]
def hooked(*args, **kwargs):
    result = real(*args, **kwargs)
    calls[0] += 1
    if calls[0] == nth:
        os.kill(os.getpid(), signal.SIGKILL)
    return result
setattr(os, name, hooked)
store.put("outbox/r/0001/contribute/masked", b"bytes of the killed writer")
"""


@pytest.mark.parametrize(
    "name,nth,visible,adopted",
    [
        ("fsync", 1, False, False),  # data written to its temporary file, not linked: no object
        ("link", 1, False, True),  # data file linked (the commit), no metadata yet: finished by the next put
        ("fsync", 2, False, True),  # metadata written to its temporary file, not linked: same
        ("link", 2, True, True),  # metadata linked, temporary files not yet removed: a whole object
    ],
    ids=["before-data-link", "after-data-link", "before-meta-link", "after-meta-link"],
)
def test_local_put_killed_at_each_step_leaves_no_object_or_a_whole_one(tmp_path, name, nth, visible, adopted):
    # Prepare / Execute: the writer SIGKILLs itself right after its nth os.<name> call inside put.
    store, _, spec = _local(tmp_path, None)
    key = "outbox/r/0001/contribute/masked"
    writer = _spawn(KILLED_AT, json.dumps(spec), name, str(nth))
    assert writer.wait(timeout=60) == -signal.SIGKILL
    # Assert: leftover temporary files are never listed or found ...
    leftovers = [p.name for p in (tmp_path / "bucket-a").rglob("*.tmp")]
    assert leftovers, "the kill should have left a temporary file behind"
    assert store.list() == ([key] if visible else [])
    assert store.exists(key) is visible
    if not visible:
        with pytest.raises(ObjectNotFound):
            store.get(key)
    # ... and the next writer adopts the killed writer's object exactly when its data file was linked.
    expected = b"bytes of the killed writer" if adopted else b"the next writer's bytes"
    assert store.put_once(key, b"the next writer's bytes") == expected
    assert store.get(key) == expected and store.list() == [key]
    if adopted:
        with pytest.raises(ObjectExists):
            store.put(key, b"other bytes")


def test_local_metadata_that_does_not_parse_is_an_integrity_error(tmp_path) -> None:
    store = LocalStore(tmp_path, "bucket-a", account="alice")
    store.put("outbox/m", b"bytes")
    (tmp_path / "bucket-a" / ".meta" / "outbox" / "m.json").write_text("{not json")
    with pytest.raises(IntegrityError, match="'outbox/m'"):
        store.get("outbox/m")
    with pytest.raises(IntegrityError, match="'outbox/m'"):
        store.put("outbox/m", b"bytes")
