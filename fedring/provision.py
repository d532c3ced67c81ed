"""Provision a federation on S3: buckets, the host-access role in each client, and its policies.

``plan(cfg)`` is pure: it returns every step with the exact JSON document it applies, so an
operator can review the IAM and bucket policies before running it on real AWS
(``fedring provision --dry-run``). ``apply(cfg, ...)`` runs the steps with each account's
own credentials; it is idempotent (existing buckets are kept, existing roles get their trust
and role policies replaced by the planned ones).

Organisations provision separately: ``plan(cfg, account=NAME)`` is one account's part, run
with that account's own admin credentials (``fedring provision --account NAME``), and
``exchange_document`` is what that organisation then sends the others out of band (its
role ARN and external id, or the host's principal, and its identity pin). External ids that
are still the template's placeholders (``change-me-...``) are refused.

Per client account ``i`` with bucket ``B_i``:

- role ``fedring-host-access`` whose trust policy names only the host principal (and, where
  the server evaluates it, requires the external id);
- its role policy: ``s3:GetObject`` on ``B_i/outbox/*`` and ``B_i/public/*``,
  ``s3:PutObject`` on ``B_i/inbox/*`` (with the canned ACL ``bucket-owner-full-control``
  only, so the client owns what the host writes), ``s3:ListBucket`` for those prefixes;
  nothing else;
- a bucket policy that denies the same role everything outside those rights, so that a role
  policy widened later by mistake still cannot reach ``data/`` or ``private/``.

The host bucket gets no policy: only principals of the host account can reach it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fedring.config import AccountConfig, FederationConfig
from fedring.layout import INBOX, OUTBOX, PUBLIC_PREFIX

if TYPE_CHECKING:
    import boto3

VERSION = "2012-10-17"
# What the host role may never do to a client bucket, whatever its role policy says.
# (Listed explicitly: Ceph radosgw 16 does not evaluate NotAction in bucket policies.)
FORBIDDEN_TO_HOST = [
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutBucketAcl",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketVersioning",
    "s3:DeleteBucket",
]


def compact(doc: dict[str, Any]) -> str:
    """Policy JSON without spaces (Ceph radosgw 16 mis-decodes spaces in IAM form bodies)."""
    return json.dumps(doc, separators=(",", ":"))


def trust_policy(host_principal: str, external_id: str | None) -> dict[str, Any]:
    """Who may assume the host-access role: the host principal only (with the external id)."""
    statement: dict[str, Any] = {
        "Sid": "OnlyTheHost",
        "Effect": "Allow",
        "Principal": {"AWS": [host_principal]},
        "Action": ["sts:AssumeRole"],
    }
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return {"Version": VERSION, "Statement": [statement]}


def _arn(bucket: str, prefix: str = "") -> str:
    return f"arn:aws:s3:::{bucket}" + (f"/{prefix}*" if prefix else "")


def host_access_policy(bucket: str) -> dict[str, Any]:
    """The role policy: read outbox/ and public/, write inbox/, list those prefixes; nothing else."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "ReadOutboxAndPublicKeys",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [_arn(bucket, OUTBOX), _arn(bucket, PUBLIC_PREFIX)],
            },
            {
                "Sid": "WriteInbox",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
                "Resource": [_arn(bucket, INBOX)],
            },
            {
                "Sid": "GiveInboxObjectsToTheBucketOwner",
                "Effect": "Allow",
                "Action": ["s3:PutObjectAcl"],
                "Resource": [_arn(bucket, INBOX)],
                "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
            },
            {
                "Sid": "ListOutboxInboxPublic",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [_arn(bucket)],
                "Condition": {"StringLike": {"s3:prefix": [f"{p}*" for p in (OUTBOX, INBOX, PUBLIC_PREFIX)]}},
            },
        ],
    }


def client_bucket_policy(bucket: str, role_arn: str) -> dict[str, Any]:
    """Defence in depth on the client bucket: deny the host role anything beyond its rights."""
    who = {"AWS": [role_arn]}
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "HostRoleReadsOnlyOutboxAndPublicKeys",
                "Effect": "Deny",
                "Principal": who,
                "Action": ["s3:GetObject"],
                "NotResource": [_arn(bucket, OUTBOX), _arn(bucket, PUBLIC_PREFIX)],
            },
            {
                "Sid": "HostRoleWritesOnlyInbox",
                "Effect": "Deny",
                "Principal": who,
                "Action": ["s3:PutObject", "s3:PutObjectAcl", "s3:AbortMultipartUpload"],
                "NotResource": [_arn(bucket, INBOX)],
            },
            {
                "Sid": "HostRoleNeverDeletesOrReconfigures",
                "Effect": "Deny",
                "Principal": who,
                "Action": FORBIDDEN_TO_HOST,
                "Resource": [_arn(bucket), f"{_arn(bucket)}/*"],
            },
        ],
    }


ABORT_INCOMPLETE_UPLOADS = {
    "Rules": [
        {
            "ID": "fedring-abort-incomplete-uploads",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        }
    ]
}


@dataclass(frozen=True)
class Step:
    """One provisioning action, run with ``account``'s own credentials."""

    account: str
    action: str  # create-bucket | bucket-lifecycle | create-role | role-policy | bucket-policy
    target: str
    document: dict[str, Any] | None = None

    def render(self) -> str:
        head = f"[{self.account}] {self.action} {self.target}"
        return head if self.document is None else f"{head}\n{json.dumps(self.document, indent=2)}"


def plan(cfg: FederationConfig, account: str | None = None) -> list[Step]:
    """Every step, in order, with the exact documents ``apply`` sends; only ``account``'s if named."""
    if account is not None:
        cfg.account(account)  # ConfigError naming the accounts when unknown
    role_name = cfg.storage.host_role_name
    host_principal = cfg.host.principal
    assert host_principal is not None  # FederationConfig._check_s3 guarantees it
    steps = []
    if account in (None, cfg.host.name):
        steps += [
            Step(cfg.host.name, "create-bucket", cfg.host.bucket_name),
            Step(cfg.host.name, "bucket-lifecycle", cfg.host.bucket_name, ABORT_INCOMPLETE_UPLOADS),
        ]
    for acct in cfg.accounts:
        if account not in (None, acct.name):
            continue
        bucket, role_arn = acct.bucket_name, acct.host_role_arn(role_name)
        assert role_arn is not None
        external_id = acct.external_id if cfg.storage.trust_external_id else None
        steps += [
            Step(acct.name, "create-bucket", bucket),
            Step(acct.name, "bucket-lifecycle", bucket, ABORT_INCOMPLETE_UPLOADS),
            Step(acct.name, "create-role", role_name, trust_policy(host_principal, external_id)),
            Step(acct.name, "role-policy", f"{role_name}/{role_name}", host_access_policy(bucket)),
            Step(acct.name, "bucket-policy", bucket, client_bucket_policy(bucket, role_arn)),
        ]
    return steps


def exchange_document(cfg: FederationConfig, account: str, pin: str | None) -> dict[str, Any]:
    """What ``account``'s organisation sends the others after provisioning (nothing secret).

    A client: its bucket, the role the host assumes there and the external id that role
    expects; the host: the principal the client roles trust. Both: the identity pin every
    organisation puts in its federation file (``accounts[*].identity`` / ``host.identity``).
    """
    acct = cfg.account(account)
    doc: dict[str, Any] = {"account": acct.name, "account_id": acct.account_id, "bucket": acct.bucket_name,
                           "region": acct.region}
    if acct is cfg.host:
        doc |= {"role": "host", "principal_arn": acct.principal}
    else:
        doc |= {"role": "client", "role_arn": acct.host_role_arn(cfg.storage.host_role_name),
                "external_id": acct.external_id}
    return doc | {"identity": pin}


def apply(
    cfg: FederationConfig,
    *,
    sessions: dict[str, boto3.Session] | None = None,
    echo: Callable[[str], None] = lambda _: None,
    account: str | None = None,
) -> list[Step]:
    """Run ``plan(cfg, account)`` against the accounts' endpoints; ``sessions`` maps account names to
    their own boto3 sessions (default: ``FEDRING_<ACCOUNT>_*`` variables or profiles)."""
    from fedring.storage import account_session

    sessions = dict(sessions or {})
    steps = plan(cfg, account)
    for step in steps:
        acct = cfg.account(step.account)
        session = sessions.get(acct.name) or sessions.setdefault(acct.name, account_session(cfg, acct.name))
        echo(step.render())
        _run(step, acct, session, cfg)
    return steps


def _run(step: Step, acct: AccountConfig, session: boto3.Session, cfg: FederationConfig) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    from fedring.errors import StorageError
    from fedring.storage.credentials import client_config

    endpoint, conf = cfg.endpoint_for(acct), client_config(cfg.storage.max_attempts, cfg.storage.addressing_style)
    s3 = session.client("s3", endpoint_url=endpoint, region_name=acct.region, config=conf)
    iam = session.client("iam", endpoint_url=endpoint, region_name=acct.region, config=conf)
    role_name = cfg.storage.host_role_name
    try:
        if step.action == "create-bucket":
            kwargs: dict[str, Any] = {"Bucket": step.target}
            if acct.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": acct.region}
            try:
                s3.create_bucket(**kwargs)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
                    raise
        elif step.action == "bucket-lifecycle":
            s3.put_bucket_lifecycle_configuration(Bucket=step.target, LifecycleConfiguration=step.document)
        elif step.action == "create-role":
            trust = compact(step.document or {})
            try:
                iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=trust)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                if code != "EntityAlreadyExists" and status != 409:  # radosgw: bare 409
                    raise
                iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=trust)
        elif step.action == "role-policy":
            iam.put_role_policy(RoleName=role_name, PolicyName=role_name, PolicyDocument=compact(step.document or {}))
        elif step.action == "bucket-policy":
            s3.put_bucket_policy(Bucket=step.target, Policy=compact(step.document or {}))
        else:  # pragma: no cover - plan() builds only the actions above
            raise ValueError(step.action)
    except (ClientError, BotoCoreError) as exc:
        detail = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else str(exc)
        raise StorageError(
            f"provisioning failed at account {acct.name!r}: {step.action} {step.target}: {detail or exc}"
        ) from exc
