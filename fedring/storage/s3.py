"""``S3Store``: the ``Store`` contract on S3 (AWS or any S3-compatible server) with boto3.

- Every object carries its SHA-256 in metadata (``x-amz-meta-sha256``); ``get`` checks it.
- Writes are immutable and atomic. Up to ``multipart_threshold`` bytes an object goes up in
  one conditional PUT (``If-None-Match: *``): the server refuses to replace an existing key,
  with no race. Larger objects go up in parts; ``put`` first checks that the key is free and
  completes the upload with ``If-None-Match: *`` too. AWS S3 honours that condition on
  CompleteMultipartUpload; Ceph radosgw 16 ignores it, so there a concurrent writer of the
  same key can slip in between the check and the completion (stages write disjoint keys, so
  fedring itself never does). Parts stay invisible until completion and are aborted on any
  failure: nothing is ever half-written.
- Requests retry throttling, 5xx and dropped connections with exponential backoff and jitter,
  at most ``max_attempts`` times (botocore's standard mode); credential errors never retry.
- boto3 exceptions are translated here, at the boundary, into fedring's ``StorageError``
  family, each naming the principal, account, bucket and key.
"""

from __future__ import annotations

import base64
import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError

from fedring.errors import AccessDenied, CredentialsError, IntegrityError, ObjectExists, ObjectNotFound, StorageError
from fedring.storage.credentials import CREDENTIAL_CODES, client_config, credentials_rejected
from fedring.storage.base import Store, check_key, sha256_hex

MiB = 1024 * 1024
_NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})
_CONFLICT = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})


class S3Store(Store):
    """One account's bucket on S3, seen by one principal (the owner, or the host via a role).

    ``session`` carries the principal's credentials (for the host's view of a client: an
    assumed-role session from ``fedring.storage.credentials.assume_role_session``); ``principal`` names it
    in error messages. ``acl`` is a canned ACL sent with every write: the host's view uses
    ``bucket-owner-full-control`` so that the client owns what the host leaves in its inbox
    (Ceph radosgw makes the user behind an assumed role the owner of what it writes).
    """

    def __init__(
        self,
        bucket: str,
        *,
        session: boto3.Session,
        account: str | None = None,
        principal: str | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        addressing_style: str = "auto",
        max_attempts: int = 5,
        multipart_threshold: int = 64 * MiB,
        part_size: int = 16 * MiB,
        max_concurrency: int = 4,
        acl: str | None = None,
    ) -> None:
        if part_size < 5 * MiB or multipart_threshold < part_size:
            raise ValueError("part_size must be >= 5 MiB (S3's minimum) and <= multipart_threshold")
        self.bucket = bucket
        self.account = account or bucket
        self.principal = principal or f"account {self.account!r}"
        self.session = session
        self.endpoint_url = endpoint_url
        self.region = region
        self.max_attempts = max_attempts
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self.max_concurrency = max_concurrency
        self._extra: dict[str, str] = {"ACL": acl} if acl else {}
        self.client = session.client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=client_config(max_attempts, addressing_style)
        )

    def __repr__(self) -> str:
        return f"S3Store({self.bucket!r}, account={self.account!r}, endpoint={self.endpoint_url or 'AWS'!r})"

    # -- the Store contract ---------------------------------------------------------------

    def put(self, key: str, data: bytes) -> str:
        digest = sha256_hex(data)
        self._create(key, data, digest)
        return digest

    def _create(self, key: str, data: bytes, digest: str) -> bool:
        """True if this call created the object, False if the same bytes were already stored.

        (False too when a retried PUT finds the object its own lost first attempt created.)
        """
        check_key(key)
        if len(data) > self.multipart_threshold:
            return self._put_multipart(key, data, digest)
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                Metadata={"sha256": digest},
                ChecksumSHA256=base64.b64encode(bytes.fromhex(digest)).decode(),  # the server checks the body
                IfNoneMatch="*",
                **self._extra,
            )
        except ClientError as exc:
            if _code(exc) in _CONFLICT or _status(exc) == 412:
                return self._rewrite(key, data, digest)
            raise self._error(exc, "write", key) from exc
        except BotoCoreError as exc:
            raise self._error(exc, "write", key) from exc
        return True

    def get(self, key: str) -> bytes:
        check_key(key)
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=key)
            expected = obj.get("Metadata", {}).get("sha256")
            data = obj["Body"].read()  # one read: chunked reads through urllib3 cost more than hashing
        except ClientError as exc:
            raise self._error(exc, "read", key, disambiguate=True) from exc
        except BotoCoreError as exc:
            raise self._error(exc, "read", key) from exc
        if expected is None:
            raise IntegrityError(f"object at {self.where(key)} has no sha256 metadata (not written by fedring)")
        if sha256_hex(data) != expected:
            raise IntegrityError(f"object at {self.where(key)} does not match its SHA-256")
        return data

    def exists(self, key: str) -> bool:
        check_key(key)
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as exc:
            if _code(exc) in _NOT_FOUND or (_status(exc) == 404 and _code(exc) != "NoSuchBucket"):
                return False  # (HEAD has no body: a missing bucket also reads as a missing key)
            if _status(exc) == 403:  # may list but not read (the host on inbox/): ask the listing
                return self._listed(key, exc, "read") is not None
            raise self._error(exc, "read", key) from exc
        except BotoCoreError as exc:
            raise self._error(exc, "read", key) from exc

    def list(self, prefix: str = "") -> list[str]:
        keys: list[str] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                keys.extend(obj["Key"] for obj in page.get("Contents", ()))
        except ClientError as exc:
            raise self._error(exc, "list", prefix or "/") from exc
        except BotoCoreError as exc:
            raise self._error(exc, "list", prefix or "/") from exc
        return sorted(keys)

    def delete(self, key: str) -> None:
        """Remove an object (S3 answers success when it is absent)."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            raise self._error(exc, "delete", key) from exc
        except BotoCoreError as exc:
            raise self._error(exc, "delete", key) from exc

    # -- writing --------------------------------------------------------------------------

    def _rewrite(self, key: str, data: bytes, digest: str) -> bool:
        """The key exists: same bytes is an idempotent no-op (False), other bytes ``ObjectExists``."""
        try:
            stored = self.client.head_object(Bucket=self.bucket, Key=key).get("Metadata", {}).get("sha256")
            same = stored == digest
        except ClientError as exc:
            if _status(exc) != 403:
                raise self._error(exc, "read", key) from exc
            # A write-only principal (the host on a client's inbox/) cannot read the object back;
            # the listing's ETag (MD5 of the content, or of its parts) tells whether it is ours.
            same = self._listed(key, exc, "read") == self._etag(data)
        if same:
            return False
        raise ObjectExists(f"{self.where(key)} already holds other bytes; objects are immutable")

    def _put_multipart(self, key: str, data: bytes, digest: str) -> bool:
        if self.exists(key):
            return self._rewrite(key, data, digest)
        try:
            upload_id = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=key, Metadata={"sha256": digest}, **self._extra
            )["UploadId"]
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "write", key) from exc
        try:
            chunks = [data[i : i + self.part_size] for i in range(0, len(data), self.part_size)]

            def send(n: int) -> dict[str, Any]:
                part = self.client.upload_part(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=n + 1, Body=chunks[n]
                )
                return {"PartNumber": n + 1, "ETag": part["ETag"]}

            with ThreadPoolExecutor(self.max_concurrency) as pool:
                parts = list(pool.map(send, range(len(chunks))))
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}, IfNoneMatch="*"
            )
        except BaseException as exc:
            self._abort(key, upload_id)
            if isinstance(exc, ClientError) and (_code(exc) in _CONFLICT or _status(exc) == 412):
                return self._rewrite(key, data, digest)
            if isinstance(exc, (ClientError, BotoCoreError)):
                raise self._error(exc, "write", key) from exc
            raise
        return True

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except (ClientError, BotoCoreError):
            pass  # the lifecycle rule in docs/s3.md reaps uploads left behind

    def _etag(self, data: bytes) -> str:
        if len(data) <= self.multipart_threshold:
            return f'"{hashlib.md5(data).hexdigest()}"'
        digests = b"".join(
            hashlib.md5(data[i : i + self.part_size]).digest() for i in range(0, len(data), self.part_size)
        )
        return f'"{hashlib.md5(digests).hexdigest()}-{-(-len(data) // self.part_size)}"'

    # -- errors ---------------------------------------------------------------------------

    def _listed(self, key: str, denied: ClientError, action: str) -> str | None:
        """ETag of ``key`` from a listing (None if absent); the original denial if listing is refused too."""
        try:
            page = self.client.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(denied, action, key) from exc
        return next((o["ETag"] for o in page.get("Contents", ()) if o["Key"] == key), None)

    def _absent(self, key: str) -> bool:
        """True only if a listing we may make shows no ``key``."""
        try:
            page = self.client.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1)
        except (ClientError, BotoCoreError):
            return False
        return not any(o["Key"] == key for o in page.get("Contents", ()))

    def _error(self, exc: Exception, action: str, key: str, *, disambiguate: bool = False) -> StorageError:
        """Translate a boto3 exception into the most specific fedring error."""
        where = self.where(key)
        if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
            return CredentialsError(f"{self.principal} has no credentials to {action} {where} ({exc})")
        if isinstance(exc, BotoCoreError):
            return StorageError(f"{self.principal} cannot {action} {where}: {exc}")
        assert isinstance(exc, ClientError)
        code, status = _code(exc), _status(exc)
        if code in CREDENTIAL_CODES:
            return CredentialsError(f"credentials of {self.principal} invalid, unknown or expired ({code}); {where}")
        if code == "NoSuchBucket":
            return ObjectNotFound(
                f"bucket {self.bucket!r} of account {self.account!r} does not exist or is not visible to "
                f"{self.principal} (run `fedring provision`); key {key!r}"
            )
        if code in _NOT_FOUND or status == 404:
            return ObjectNotFound(f"no object at {where}")
        # radosgw answers bad credentials with a bare 403, or 400 InvalidArgument for a bad token
        if (status == 403 or code in ("AccessDenied", "InvalidArgument")) and credentials_rejected(
            self.session, self.endpoint_url, self.region
        ):
            return CredentialsError(f"credentials of {self.principal} invalid, unknown or expired; {where}")
        if status == 403 or code == "AccessDenied":
            if disambiguate and self._absent(key):  # S3 says 403, not 404, to whoever may not list
                return ObjectNotFound(f"no object at {where}")
            return AccessDenied(f"{self.principal} may not {action} {where}")
        if status in (429, 503) or (status or 0) >= 500 or "Throttl" in code or code == "SlowDown":
            return StorageError(
                f"{self.principal} could not {action} {where}: server busy or failing ({code or status}) "
                f"after {self.max_attempts} attempts"
            )
        return StorageError(f"{self.principal} could not {action} {where}: {code or status}")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int | None:
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
