"""The ``Store`` interface: one bucket per account, immutable keys, SHA-256 on every object.

Every part of fedring reads and writes through this small interface. ``LocalStore``
(``local.py``) maps a bucket to a directory and is the embedded default; ``S3Store``
(``s3.py``) speaks to S3 or any S3-compatible server. Both pass the same contract tests.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod

from fedring.errors import ObjectExists


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Store(ABC):
    """A bucket of immutable objects owned by one account."""

    account: str
    bucket: str

    @abstractmethod
    def put(self, key: str, data: bytes) -> str:
        """Create the object ``key`` holding ``data`` and return its SHA-256 (hex).

        The create is atomic and exclusive: of any number of concurrent writers of one key,
        in any processes, exactly one creates the object; the others find it. Writing the
        same bytes again is a no-op (stages are idempotent); other bytes under an existing
        key raise ``ObjectExists``. Either way the object is complete and readable when
        ``put`` returns or raises ``ObjectExists``.
        """

    def put_once(self, key: str, data: bytes) -> bytes:
        """Write ``data`` unless ``key`` already holds an object; return the bytes now stored.

        That is ``data`` if this call created the object (or the same bytes were there), and
        the first writer's bytes otherwise: a stage retried after a crash or racing its own
        retry adopts the output that won instead of failing on ``ObjectExists``. No race: the
        exclusive create of ``put`` picks one winner, and a losing ``put`` raises only once
        the winner's object is complete, which is immutable from then on.

        A principal that may write ``key`` but not read it (the host on a client's
        ``inbox/``) gets ``data`` back when the same bytes are stored and ``AccessDenied``
        when other bytes are: it cannot adopt what it cannot read. Such a writer calls
        ``put`` and treats ``ObjectExists`` as "an earlier attempt's object stays".
        """
        try:
            self.put(key, data)
        except ObjectExists:
            return self.get(key)
        return data

    @abstractmethod
    def get(self, key: str) -> bytes:
        """Read an object and check its SHA-256; ``ObjectNotFound`` / ``IntegrityError``."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether a complete object is stored under ``key``."""

    @abstractmethod
    def list(self, prefix: str = "") -> list[str]:
        """Keys under ``prefix``, sorted."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Retire an object (revocation removes superseded envelopes); absent: no-op.

        Keys are never rewritten with other bytes; deleting is the only other change.
        """

    def where(self, key: str) -> str:
        """Human-readable location for error messages."""
        return f"account {self.account!r}, bucket {self.bucket!r}, key {key!r}"


def check_key(key: str) -> None:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts) or parts[0] == ".meta":
        raise ValueError(f"invalid object key {key!r}: use relative 'a/b/c' paths")
