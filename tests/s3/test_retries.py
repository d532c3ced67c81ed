"""Throttling and 5xx are retried a bounded number of times; error codes map to fedring errors.

A tiny HTTP server on loopback answers every request with the status under test, so the
retry count is the real number of requests botocore sent (no mocks, no Ceph needed).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.exceptions import ClientError

from fedring.errors import CredentialsError, ObjectNotFound, StorageError
from fedring.storage.s3 import S3Store

ERROR_BODY = "<?xml version='1.0'?><Error><Code>{code}</Code><Message>m</Message></Error>"


class Failing(BaseHTTPRequestHandler):
    status, code, hits = 503, "SlowDown", 0

    def _answer(self) -> None:
        type(self).hits += 1
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = ERROR_BODY.format(code=self.code).encode()
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_HEAD = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def failing() -> Iterator[tuple[type[Failing], str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Failing.hits = 0
    yield Failing, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def store_at(endpoint: str, attempts: int) -> S3Store:
    session = boto3.Session(aws_access_key_id="AK", aws_secret_access_key="SK", region_name="us-east-1")
    return S3Store("bucket-b", session=session, account="account-b", endpoint_url=endpoint,
                   addressing_style="path", max_attempts=attempts)


@pytest.mark.parametrize(("status", "code"), [(503, "SlowDown"), (500, "InternalError"), (429, "Throttling")])
def test_busy_server_is_retried_exactly_max_attempts(failing, status: int, code: str) -> None:
    handler, endpoint = failing
    handler.status, handler.code = status, code
    with pytest.raises(StorageError) as err:
        store_at(endpoint, attempts=3).put("inbox/x", b"data")
    assert handler.hits == 3
    assert "after 3 attempts" in str(err.value) and "'account-b'" in str(err.value) and "'inbox/x'" in str(err.value)


def client_error(status: int, code: str) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject")


@pytest.mark.parametrize("code", ["ExpiredToken", "InvalidToken", "InvalidAccessKeyId", "SignatureDoesNotMatch"])
def test_aws_credential_codes_map_to_credentials_error(code: str) -> None:
    store = store_at("http://127.0.0.1:9", attempts=1)
    err = store._error(client_error(400 if code.endswith("Token") else 403, code), "read", "outbox/k")
    assert type(err) is CredentialsError
    assert "account 'account-b'" in str(err) and "'bucket-b'" in str(err) and "'outbox/k'" in str(err)


def test_missing_bucket_says_so() -> None:
    err = store_at("http://127.0.0.1:9", attempts=1)._error(client_error(404, "NoSuchBucket"), "read", "k")
    assert type(err) is ObjectNotFound and "fedring provision" in str(err)
