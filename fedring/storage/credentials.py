"""Credentials for S3 accounts: an account's own session, and the host's assumed role.

fedring's core never imports Prefect, so everything here speaks boto3. An account's own
session comes from the caller (the Prefect ``CloudAccount`` block passes
``AwsCredentials.get_boto3_session()``), else from ``FEDRING_<ACCOUNT>_*`` variables, an
AWS profile, or boto3's default chain (``account_session``).

The host reaches a client bucket only through ``assume_role_session``: STS AssumeRole into
the client's role, with the external id and a session name that names run and round
(visible in the client's CloudTrail / ops log). The credentials renew themselves
``refresh_seconds`` before they expire, so long runs never meet an expired token.
"""

from __future__ import annotations

import os
import re
import uuid
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError
from botocore.session import get_session

from fedring.errors import AccessDenied, ConfigError, CredentialsError, StorageError

# AWS codes that mean "these credentials are wrong or stale" (S3, STS and IAM spell them differently).
CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidToken",
        "InvalidClientTokenId",
        "TokenRefreshRequired",
        "UnrecognizedClientException",
        "AuthFailure",
    }
)
_SESSION_NAME = re.compile(r"[^\w+=,.@-]")


def account_session(
    name: str, env_prefix: str, profile: str | None = None, region: str | None = None
) -> boto3.Session:
    """An account's own credentials from ``<env_prefix>ACCESS_KEY_ID``..., a profile, or the default chain."""
    key = os.environ.get(env_prefix + "ACCESS_KEY_ID")
    secret = os.environ.get(env_prefix + "SECRET_ACCESS_KEY")
    if bool(key) != bool(secret):
        raise CredentialsError(
            f"account {name!r}: set both {env_prefix}ACCESS_KEY_ID and {env_prefix}SECRET_ACCESS_KEY"
        )
    try:
        return _session(key or None, secret or None, os.environ.get(env_prefix + "SESSION_TOKEN") or None,
                        None if key else profile, region)
    except BotoCoreError as exc:  # ProfileNotFound and friends
        raise ConfigError(f"account {name!r}: profile {profile!r}: {exc}") from exc


@lru_cache(maxsize=64)
def _session(key: str | None, secret: str | None, token: str | None, profile: str | None,
             region: str | None) -> boto3.Session:
    """One session per set of credentials in a process.

    A new session loads botocore's service models again for its first client: 0.12 s
    here, against 0.01 s for a client of a session that has one. A run opens an
    account's bucket a few hundred times. (An exception is not cached: a profile that
    appears later is found.)
    """
    if key:
        return boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token,
                             region_name=region)
    return boto3.Session(profile_name=profile, region_name=region)


def session_name(run: str | None, rnd: int | None, prefix: str = "fedring") -> str:
    """``fedring-<run>-r<round>``: what the client's logs show for each host session (max 64 chars)."""
    parts = [prefix] + ([run] if run else []) + ([f"r{rnd}"] if rnd is not None else [])
    return _SESSION_NAME.sub("-", "-".join(parts))[:64]


def client_config(max_attempts: int, addressing_style: str = "auto") -> Config:
    """Bounded retries with exponential backoff and jitter (botocore 'standard' mode):
    throttling (SlowDown, 503), 5xx and dropped connections are retried, auth errors never."""
    return Config(
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        s3={"addressing_style": addressing_style},
        connect_timeout=10,
        read_timeout=60,
    )


def credentials_rejected(session: boto3.Session, endpoint_url: str | None, region: str | None) -> bool:
    """Whether the server rejects these credentials themselves (not merely this operation).

    AWS says so with a specific code; Ceph radosgw answers a bare 403 AccessDenied to a wrong
    secret, an unknown key and a bad session token alike. So ask about a bucket that does not
    exist: valid credentials get 404, rejected ones 403. One request, only on the error path.
    """
    s3 = session.client("s3", endpoint_url=endpoint_url, region_name=region, config=client_config(1, "path"))
    try:
        s3.head_bucket(Bucket=f"fedring-probe-{uuid.uuid4().hex[:20]}")
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return code in CREDENTIAL_CODES or status in (400, 403)
    except BotoCoreError:
        return False
    return False


def assume_role_session(
    base: boto3.Session,
    *,
    role_arn: str,
    external_id: str | None,
    name: str,
    who: str,
    target: str,
    endpoint_url: str | None = None,
    region: str | None = None,
    duration: int = 3600,
    refresh_seconds: int = 300,
    max_attempts: int = 3,
) -> boto3.Session:
    """A session acting as ``role_arn`` that renews itself ``refresh_seconds`` before expiry.

    ``who`` and ``target`` name the assuming and the owning account in error messages. The
    first AssumeRole happens now, so a refused trust policy fails here and not mid-stage.
    """
    sts = base.client("sts", endpoint_url=endpoint_url, region_name=region, config=client_config(max_attempts))
    kwargs: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": name, "DurationSeconds": duration}
    if external_id:
        kwargs["ExternalId"] = external_id

    def fetch() -> dict[str, str]:
        try:
            creds = sts.assume_role(**kwargs)["Credentials"]
        except ClientError as exc:
            raise _assume_error(exc, base, role_arn, who, target, endpoint_url, region) from exc
        except BotoCoreError as exc:
            raise StorageError(f"{who} cannot reach STS at {endpoint_url or 'AWS'} to assume {role_arn}: {exc}") from exc
        expiry = creds["Expiration"]
        if isinstance(expiry, datetime):
            expiry = expiry.astimezone(timezone.utc).isoformat()
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": expiry,
        }

    credentials = _renewing(refresh_seconds).create_from_metadata(fetch(), fetch, "fedring-assume-role")
    botocore_session = get_session()
    # botocore has no public setter; this attribute is how RefreshableCredentials are plugged in.
    botocore_session._credentials = credentials
    return boto3.Session(botocore_session=botocore_session, region_name=region)


def _renewing(refresh_seconds: int) -> type[RefreshableCredentials]:
    """RefreshableCredentials renewing ``refresh_seconds`` before expiry (botocore: 15 / 10 min)."""
    return type(
        "RenewingCredentials",
        (RefreshableCredentials,),
        {"_advisory_refresh_timeout": refresh_seconds, "_mandatory_refresh_timeout": refresh_seconds // 2},
    )


def _assume_error(
    exc: ClientError,
    base: boto3.Session,
    role_arn: str,
    who: str,
    target: str,
    endpoint_url: str | None,
    region: str | None,
) -> Exception:
    code = exc.response.get("Error", {}).get("Code", "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in CREDENTIAL_CODES or (status == 403 and credentials_rejected(base, endpoint_url, region)):
        return CredentialsError(f"{who}: credentials invalid, unknown or expired (assuming {role_arn} of {target})")
    if status == 404 or code == "NoSuchEntity":
        return ConfigError(f"{target}: role {role_arn} does not exist; run `fedring provision`")
    if status == 403 or code == "AccessDenied":
        return AccessDenied(
            f"{who} may not assume role {role_arn} of {target}: the role's trust policy does not "
            "name this principal, or the external id differs"
        )
    return StorageError(f"{who}: AssumeRole {role_arn} of {target} failed: {code or status}")


