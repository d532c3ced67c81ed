"""``CloudAccount``: one organisation's cloud account as a Prefect block.

It holds what is not secret (bucket, region, endpoint, the role the host assumes there,
the attributes the account issues and holds) and references a prefect-aws
``AwsCredentials`` block for what is. Flows receive account names, load the blocks and call
``store()`` / ``view()``, which hand boto3 sessions down to fedring's core (which never
imports Prefect)::

    host = CloudAccount.load("host")
    client = CloudAccount.load("account-1")
    inbox_view = host.view(client, run="demo", rnd=3)   # assumed role: outbox/ read, inbox/ write

``fedring accounts register --config federation.yaml`` creates or updates these blocks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from prefect.blocks.core import Block
from prefect_aws import AwsCredentials
from pydantic import Field

if TYPE_CHECKING:
    import boto3

    from fedring.s3store import S3Store


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

    def store(self) -> S3Store:
        """This account's own bucket, full access."""
        from fedring.s3store import S3Store

        return S3Store(
            self.bucket,
            session=self.session(),
            account=self.account_name,
            endpoint_url=self.endpoint_url,
            region=self.region,
            addressing_style=self.addressing_style,
            max_attempts=self.max_attempts,
        )

    def view(
        self, client: CloudAccount, *, run: str | None = None, rnd: int | None = None, duration: int = 3600
    ) -> S3Store:
        """``client``'s bucket as this (host) account sees it through the role it assumes there."""
        from fedring.errors import ConfigError
        from fedring.s3auth import assume_role_session, session_name
        from fedring.s3store import S3Store

        if not client.role_arn:
            raise ConfigError(f"CloudAccount {client.account_name!r} has no role_arn for the host to assume")
        assumed = assume_role_session(
            self.session(),
            role_arn=client.role_arn,
            external_id=client.external_id,
            name=session_name(run, rnd),
            who=f"host {self.account_name!r}",
            target=f"account {client.account_name!r}",
            endpoint_url=client.endpoint_url,
            region=client.region,
            duration=duration,
            max_attempts=client.max_attempts,
        )
        return S3Store(
            client.bucket,
            session=assumed,
            account=client.account_name,
            principal=f"host {self.account_name!r} (role {client.role_arn})",
            endpoint_url=client.endpoint_url,
            region=client.region,
            addressing_style=client.addressing_style,
            max_attempts=client.max_attempts,
            acl="bucket-owner-full-control",
        )
