"""One contract, every store: ``LocalStore`` and ``S3Store`` (on a real Ceph radosgw) pass the
same tests. The S3 case needs the loopback server of ``tests/s3/server.py``; it is skipped,
with a loud reason, only when Ceph is not installed.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator

import pytest

from fedring.errors import IntegrityError, ObjectExists, ObjectNotFound
from fedring.storage import LocalStore, Store

MiB = 1024 * 1024


@pytest.fixture(scope="session")
def s3_server() -> Iterator[object]:
    from tests.s3.server import shared_server

    with shared_server() as server:
        yield server


def _local(tmp_path, request) -> tuple[Store, Callable[[str, bytes], None]]:
    store = LocalStore(tmp_path, "bucket-a", account="alice")

    def corrupt(key: str, data: bytes) -> None:
        (tmp_path / "bucket-a" / key).write_bytes(data)

    return store, corrupt


def _s3(tmp_path, request) -> tuple[Store, Callable[[str, bytes], None]]:
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

    return store, corrupt


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def backend(request, tmp_path) -> tuple[Store, Callable[[str, bytes], None]]:
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
    store, corrupt = backend
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
