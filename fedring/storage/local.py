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

    An object is its data file ``<key>`` plus its metadata ``.meta/<key>.json`` (size and
    SHA-256); it exists, for ``get``, ``exists`` and ``list``, once its metadata does.

    Creating an object is one exclusive step, with no check-then-write window: the bytes
    go to a hidden temporary file beside the data file, are flushed and fsynced, and
    ``os.link`` gives that file its final name. ``link`` never replaces an existing name
    and either happens entirely or not at all, so of all the writers racing on one key,
    in any processes, exactly one links its data file (the others get ``EEXIST``), and
    that file is complete from its first instant. The metadata is a function of the data
    file alone; whoever finds it missing after the link (the winner, or a loser, or a
    later writer) creates it the same exclusive way with the same bytes. A losing writer
    reads the winner's data file, makes sure its metadata exists, then reports a no-op
    (same bytes) or ``ObjectExists`` (other bytes): when ``put`` returns, the object is
    there and readable, and it holds the winner's bytes.

    A SIGKILL inside ``put`` leaves at worst a hidden ``.<name>.*.tmp`` file (never listed,
    never read) and, if it lands between the two links, a complete data file without
    metadata. That object was committed (its link won) but is not visible yet: ``get``,
    ``exists`` and ``list`` say it is absent until the next ``put`` or ``put_once`` of the
    key finishes it, so ``put_once`` then returns the killed writer's bytes and ``put`` of
    other bytes gets ``ObjectExists``. What remains unarbitrated: a ``delete`` racing a
    ``put`` of the same key (keys are not written again once deleted), and power loss
    (directories are not fsynced; a process crash loses nothing). Needs a filesystem with
    hard links (any local Linux filesystem, NFS).
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

    def put(self, key: str, data: bytes) -> str:
        digest = sha256_hex(data)
        self._create(key, data, digest)
        return digest

    def _create(self, key: str, data: bytes, digest: str) -> bool:
        """True if this call created the object, False if the same bytes were already stored."""
        data_path, meta_path = self._paths(key)
        created = False
        stored = self._recorded(key, meta_path)
        if stored is None:
            created = _link_new(data_path, data)
            winner = data if created else self._read(key, data_path)  # another's data won: finish its object
            stored = self._record(key, meta_path, digest if created else sha256_hex(winner), len(winner))
        if stored != digest:
            raise ObjectExists(f"{self.where(key)} already holds other bytes; objects are immutable")
        return created

    def _record(self, key: str, meta_path: Path, digest: str, size: int) -> str:
        """Create the metadata of a linked data file (exclusively); the SHA-256 now recorded."""
        if _link_new(meta_path, json.dumps({"sha256": digest, "size": size}).encode()):
            return digest
        recorded = self._recorded(key, meta_path)
        if recorded != digest:  # the data file changed under existing metadata: tampering
            raise IntegrityError(f"object at {self.where(key)} does not match its SHA-256")
        return recorded

    def _recorded(self, key: str, meta_path: Path) -> str | None:
        """The SHA-256 the metadata records, or None when the object does not exist."""
        try:
            return str(json.loads(meta_path.read_bytes())["sha256"])
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            raise IntegrityError(f"metadata of the object at {self.where(key)} is unreadable") from exc

    def _read(self, key: str, data_path: Path) -> bytes:
        try:
            return data_path.read_bytes()
        except FileNotFoundError:  # metadata without data: deleted meanwhile
            raise ObjectNotFound(f"no object at {self.where(key)}") from None

    def get(self, key: str) -> bytes:
        data_path, meta_path = self._paths(key)
        expected = self._recorded(key, meta_path)
        if expected is None:
            raise ObjectNotFound(f"no object at {self.where(key)}")
        data = self._read(key, data_path)
        if sha256_hex(data) != expected:
            raise IntegrityError(f"object at {self.where(key)} does not match its SHA-256")
        return data

    def exists(self, key: str) -> bool:
        return self._paths(key)[1].exists()

    def delete(self, key: str) -> None:
        """Metadata first, so the object stops existing at once; then its data file.

        A crash between the two leaves the data file, which a later ``put`` of the same key
        would adopt as an unfinished object (see the class docstring): keys are not reused.
        """
        data_path, meta_path = self._paths(key)
        meta_path.unlink(missing_ok=True)
        data_path.unlink(missing_ok=True)

    def list(self, prefix: str = "") -> list[str]:
        meta_root = self.base / ".meta"
        start = meta_root / prefix.rpartition("/")[0]  # walk only the prefix's folder
        if not start.is_dir():
            return []
        keys = (str(p.relative_to(meta_root))[: -len(".json")] for p in start.rglob("*.json"))
        return sorted(k for k in keys if k.startswith(prefix))


def _link_new(path: Path, data: bytes) -> bool:
    """Create ``path`` holding ``data`` unless it exists (then False); never a partial file.

    The bytes are written and fsynced under a hidden temporary name (``.<name>.*.tmp``, which
    ``list`` never matches) and hard-linked to ``path``: the link is the exclusive create.
    """
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
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)


class GuardedStore(Store):
    """A view of another account's bucket limited to what a role's policy allows.

    On S3 the client account's IAM role enforces this; locally this wrapper does, so
    that a local run fails the same way when a flow reaches outside its rights.
    ``put_once`` is the base class's, through these checks: on a prefix it may write but
    not read (``inbox/``) it adopts nothing, and other bytes already there raise
    ``AccessDenied`` for the read, as the role does on S3.
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
