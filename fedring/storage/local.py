"""``LocalStore``: a bucket as a directory (the embedded default), and ``GuardedStore``.

``GuardedStore`` reproduces, for local runs, what the cross-account role allows the host
on S3: read ``outbox/``, write ``inbox/``, nothing else.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from fedring.errors import AccessDenied, IntegrityError, ObjectExists, ObjectNotFound
from fedring.storage.base import Store, check_key, sha256_hex


class LocalStore(Store):
    """A bucket as a directory: ``root/<bucket>/<key>``, metadata in ``root/<bucket>/.meta``.

    Each write goes to a temporary file in the same directory, is flushed and renamed
    over the final name, so readers never see half an object. The metadata file
    (size and SHA-256) is written last; an object without it does not exist yet.
    """

    def __init__(self, root: str | os.PathLike[str], bucket: str, account: str | None = None) -> None:
        self.root = Path(root)
        self.bucket = bucket
        self.account = account or bucket
        self.base = self.root / bucket
        self.base.mkdir(parents=True, exist_ok=True)

    def _paths(self, key: str) -> tuple[Path, Path]:
        check_key(key)
        return self.base / key, self.base / ".meta" / f"{key}.json"

    @staticmethod
    def _atomic_write(path: Path, data: bytes) -> None:
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        except FileNotFoundError:  # first object in this folder (mkdir on an existing one costs 0.3 ms here)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put(self, key: str, data: bytes) -> str:
        data_path, meta_path = self._paths(key)
        digest = sha256_hex(data)
        if meta_path.exists():
            stored = json.loads(meta_path.read_text())["sha256"]
            if stored == digest:
                return digest
            raise ObjectExists(f"{self.where(key)} already holds other bytes; objects are immutable")
        self._atomic_write(data_path, data)
        self._atomic_write(meta_path, json.dumps({"sha256": digest, "size": len(data)}).encode())
        return digest

    def get(self, key: str) -> bytes:
        data_path, meta_path = self._paths(key)
        if not meta_path.exists():
            raise ObjectNotFound(f"no object at {self.where(key)}")
        expected = json.loads(meta_path.read_text())["sha256"]
        data = data_path.read_bytes()
        if sha256_hex(data) != expected:
            raise IntegrityError(f"object at {self.where(key)} does not match its SHA-256")
        return data

    def exists(self, key: str) -> bool:
        return self._paths(key)[1].exists()

    def delete(self, key: str) -> None:
        data_path, meta_path = self._paths(key)
        meta_path.unlink(missing_ok=True)  # metadata first: the object stops existing
        data_path.unlink(missing_ok=True)

    def list(self, prefix: str = "") -> list[str]:
        meta_root = self.base / ".meta"
        start = meta_root / prefix.rpartition("/")[0]  # walk only the prefix's folder
        if not start.is_dir():
            return []
        keys = (str(p.relative_to(meta_root))[: -len(".json")] for p in start.rglob("*.json"))
        return sorted(k for k in keys if k.startswith(prefix))


class GuardedStore(Store):
    """A view of another account's bucket limited to what a role's policy allows.

    On S3 the client account's IAM role enforces this; locally this wrapper does, so
    that a local run fails the same way when a flow reaches outside its rights.
    """

    def __init__(
        self,
        inner: Store,
        *,
        principal: str,
        read: Iterable[str] = (),
        write: Iterable[str] = (),
    ) -> None:
        self.inner = inner
        self.principal = principal
        self.read_prefixes = tuple(read)
        self.write_prefixes = tuple(write)
        self.account = inner.account
        self.bucket = inner.bucket

    def _deny(self, action: str, key: str) -> AccessDenied:
        return AccessDenied(f"{self.principal} may not {action} {self.where(key)}")

    def put(self, key: str, data: bytes) -> str:
        if not key.startswith(self.write_prefixes):
            raise self._deny("write", key)
        return self.inner.put(key, data)

    def get(self, key: str) -> bytes:
        if not key.startswith(self.read_prefixes):
            raise self._deny("read", key)
        return self.inner.get(key)

    def exists(self, key: str) -> bool:
        if not key.startswith(self.read_prefixes + self.write_prefixes):
            raise self._deny("read", key)
        return self.inner.exists(key)

    def delete(self, key: str) -> None:
        raise self._deny("delete", key)

    def list(self, prefix: str = "") -> list[str]:
        if not prefix.startswith(self.read_prefixes):
            raise self._deny("list", prefix or "/")
        return self.inner.list(prefix)
