"""Who may read the registry on S3: a reader role in the host's account, per consumer.

The host's bucket has no bucket policy (only the host account's principals reach it), so
a consumer account reads ``registry/`` by assuming a role in the host account whose trust
policy names the consumer's principal and whose policy allows ``s3:GetObject`` on
``registry/*`` and listing that prefix, nothing else: not ``runs/`` (round models, protocol
objects), not writes. Reading is not opening: the envelopes still need the attributes.

``reader_trust_policy`` and ``reader_role_policy`` are the documents; applying them is
an operator's step (``fedring provision`` does not create this role yet).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fedring.layout import REGISTRY

if TYPE_CHECKING:
    import boto3

    from fedring.storage import Store

VERSION = "2012-10-17"
READER_ROLE = "fedring-registry-reader"


def reader_trust_policy(consumers: list[str]) -> dict[str, Any]:
    """Only the named consumer principals (ARNs) may assume the reader role."""
    return {"Version": VERSION, "Statement": [{
        "Sid": "RegistryConsumers", "Effect": "Allow", "Principal": {"AWS": consumers},
        "Action": ["sts:AssumeRole"]}]}


def reader_role_policy(bucket: str) -> dict[str, Any]:
    """Read and list ``registry/`` in the host's bucket; nothing else."""
    return {"Version": VERSION, "Statement": [
        {"Sid": "ReadRegistry", "Effect": "Allow", "Action": ["s3:GetObject"],
         "Resource": [f"arn:aws:s3:::{bucket}/{REGISTRY}*"]},
        {"Sid": "ListRegistry", "Effect": "Allow", "Action": ["s3:ListBucket"],
         "Resource": [f"arn:aws:s3:::{bucket}"],
         "Condition": {"StringLike": {"s3:prefix": [f"{REGISTRY}*"]}}},
    ]}


def reader_store(
    consumer: boto3.Session,
    *,
    bucket: str,
    role_arn: str,
    endpoint_url: str | None = None,
    region: str = "us-east-1",
    addressing_style: str = "auto",
    account: str = "host",
    who: str = "consumer",
) -> Store:
    """The host's registry as a consumer sees it, through the reader role it assumes."""
    from fedring.storage.credentials import assume_role_session, session_name
    from fedring.storage.s3 import S3Store

    session = assume_role_session(consumer, role_arn=role_arn, external_id=None, name=session_name(None, None, prefix=f"fedring-registry-{who}"),
                                  who=who, target=f"account {account!r}", endpoint_url=endpoint_url, region=region)
    return S3Store(bucket, session=session, account=account, principal=f"{who} (role {role_arn})",
                   endpoint_url=endpoint_url, region=region, addressing_style=addressing_style)
