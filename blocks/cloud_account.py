"""``CloudAccount``: one organisation's cloud account as a Prefect block.

It holds what is not secret (bucket, region, endpoint, the role the host assumes there,
the attributes the account issues and holds) and references a prefect-aws
``AwsCredentials`` block for what is. Flows receive account names, load the blocks and call
``store()`` / ``view()``, which hand boto3 sessions down to fedring's core (which never
imports Prefect)::

    host = CloudAccount.load("host")
    client = CloudAccount.load("account-1")
    inbox_view = host.view(client, run="demo", rnd=3)   # assumed role: outbox/ read, inbox/ write

``fedring accounts register --config federation.yaml --account NAME`` creates or updates the
blocks of one account, on the Prefect of the organisation that owns it: a Prefect API gives
the secrets of its blocks to whoever can reach it, so an organisation's Prefect holds its
own credentials and nobody else's (docs/deploy.md). A client's block names the role the
host assumes there (public), never the host's keys; the host's block holds only the host's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from prefect.blocks.core import Block
from prefect_aws import AwsCredentials
from pydantic import Field

if TYPE_CHECKING:
    import boto3

    from fedring.config import AccountConfig, FederationConfig, StorageConfig
    from fedring.storage.s3 import S3Store


class CloudAccount(Block):
    """An account of a fedring federation: its bucket, its host-access role, its credentials."""

    _block_type_name = "Fedring Cloud Account"
    _block_type_slug = "fedring-cloud-account"
    _description = "One organisation's cloud account in a fedring federation (bucket, role, attributes)."

    account_name: str = Field(description="Account name in the federation file (lowercase, digits, dashes).")
    bucket: str = Field(description="The account's bucket.")
    region: str = Field("us-east-1", description="Bucket region.")
    endpoint_url: str | None = Field(None, description="S3/STS endpoint; None for AWS.")
    addressing_style: Literal["auto", "path", "virtual"] = Field(
        "auto", description="S3 addressing style; 'path' for Ceph radosgw."
    )
    role_arn: str | None = Field(None, description="Role the host assumes in this account (clients only).")
    external_id: str | None = Field(None, description="External id the role's trust policy expects.")
    attributes: list[str] = Field(default_factory=list, description="Attribute names this account issues.")
    holds: list[str] = Field(default_factory=list, description="Attributes (authority:name) this account holds.")
    max_attempts: int = Field(5, description="Attempts per S3 request (throttling, 5xx).")
    credentials: AwsCredentials = Field(description="This account's own credentials (an AwsCredentials block).")

    def session(self) -> boto3.Session:
        """A boto3 session with this account's own credentials."""
        return self.credentials.get_boto3_session()

    def account_config(self) -> AccountConfig:
        """This block as the account entry of a federation file."""
        from fedring.config import AccountConfig

        return AccountConfig(
            name=self.account_name,
            bucket=self.bucket,
            region=self.region,
            endpoint_url=self.endpoint_url,
            role_arn=self.role_arn,
            external_id=self.external_id,
        )

    def storage_config(self) -> StorageConfig:
        from fedring.config import StorageConfig

        return StorageConfig(kind="s3", addressing_style=self.addressing_style, max_attempts=self.max_attempts)

    def store(self) -> S3Store:
        """This account's own bucket, full access."""
        from fedring.storage.federation import s3_owner

        return s3_owner(self.account_config(), self.storage_config(), self.session(), endpoint=self.endpoint_url)

    def view(self, client: CloudAccount, *, run: str | None = None, rnd: int | None = None) -> S3Store:
        """``client``'s bucket as this (host) account sees it through the role it assumes there."""
        from fedring.storage.federation import s3_role_view

        return s3_role_view(
            client.account_config(),
            client.storage_config(),
            self.session(),
            host=self.account_name,
            run=run,
            rnd=rnd,
            endpoint=client.endpoint_url,
        )


def register_account(cfg: FederationConfig, name: str, echo: Callable[[str], None] = print) -> None:
    """Create or update the AwsCredentials and CloudAccount blocks of account ``name`` only.

    Keys come from FEDRING_<ACCOUNT>_* variables (stored as secrets in the block); an
    account with only ``profile:`` gets a block that names the profile and stores no secret.
    """
    from fedring.errors import ConfigError
    from fedring.storage import account_session

    acct = cfg.account(name)
    cred_name = acct.credentials_block or f"{acct.name}-aws"
    if acct.profile and not os.environ.get(acct.env_prefix + "ACCESS_KEY_ID"):
        aws = AwsCredentials(profile_name=acct.profile, region_name=acct.region)  # no secret copied
    else:
        found = account_session(cfg, acct.name).get_credentials()
        if found is None:
            raise ConfigError(f"account {acct.name!r}: no credentials (set {acct.env_prefix}ACCESS_KEY_ID ...)")
        creds = found.get_frozen_credentials()
        aws = AwsCredentials(
            aws_access_key_id=creds.access_key,
            aws_secret_access_key=creds.secret_key,
            aws_session_token=creds.token,
            region_name=acct.region,
        )
    aws.save(cred_name, overwrite=True)
    CloudAccount(
        account_name=acct.name,
        bucket=acct.bucket_name,
        region=acct.region,
        endpoint_url=cfg.endpoint_for(acct),
        addressing_style=cfg.storage.addressing_style,
        role_arn=acct.host_role_arn(cfg.storage.host_role_name) if acct is not cfg.host else None,
        external_id=acct.external_id,
        attributes=acct.attributes,
        holds=acct.holds,
        max_attempts=cfg.storage.max_attempts,
        credentials=AwsCredentials.load(cred_name),
    ).save(acct.name, overwrite=True)
    echo(f"block fedring-cloud-account/{acct.name} (credentials: aws-credentials/{cred_name})")
