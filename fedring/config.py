"""The federation configuration: one validated document (``federation.yaml``).

Every option has a default that runs the embedded demo; errors name the option.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fedring.errors import ConfigError
from fedring.layout import check_name


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccountConfig(_Strict):
    """One organisation's cloud account."""

    name: str = Field(description="Short account name; used in keys, attributes and policies.")
    bucket: str | None = Field(None, description="Bucket name; defaults to 'fedring-<name>'.")
    account_id: str | None = Field(None, description="Cloud account id (12 digits on AWS / Ceph tenant).")
    region: str = Field("us-east-1", description="Bucket region.")
    endpoint_url: str | None = Field(None, description="S3 endpoint (None: AWS default).")
    role_arn: str | None = Field(None, description="Role the host assumes in this account.")
    external_id: str | None = Field(None, description="External id required by the role's trust policy.")
    credentials_block: str | None = Field(None, description="Name of a prefect-aws AwsCredentials block.")
    attributes: list[str] = Field(default_factory=list, description="Attribute names this account issues.")
    holds: list[str] = Field(default_factory=list, description="Attributes (authority:name) it holds.")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_name("account name", v)

    @property
    def bucket_name(self) -> str:
        return self.bucket or f"fedring-{self.name}"


class PartitionConfig(_Strict):
    scheme: Literal["iid", "dirichlet", "shards"] = "iid"
    alpha: float = Field(0.5, description="Dirichlet concentration; smaller is more skewed.")
    classes_per_account: int = Field(2, description="Shards scheme: classes per account.")
    limit: int | None = Field(None, description="Use only the first N training images (tests).")

    @field_validator("alpha")
    @classmethod
    def _alpha(cls, v: float) -> float:
        if not v > 0:
            raise ValueError("partition.alpha must be > 0")
        return v


class TrainingConfig(_Strict):
    rounds: int = Field(5, ge=1, description="Federated rounds.")
    local_epochs: int = Field(1, ge=1)
    batch_size: int = Field(64, ge=1)
    learning_rate: float = Field(1e-3, gt=0)
    eval_limit: int | None = Field(None, description="Evaluate on the first N test images only (tests).")


class SecAggConfig(_Strict):
    secure: bool = Field(True, description="Secure aggregation; False runs the plaintext baseline.")
    threshold: int | None = Field(None, description="Shamir threshold t; default: majority of the roster.")
    rings: int = Field(1, ge=1, description="Parallel rings.")
    degree: int | None = Field(None, description="Neighbour-graph degree k; None: complete graph.")
    clip: float = Field(8.0, gt=0, description="Per-coordinate clip of updates before quantising.")
    frac_bits: int = Field(16, ge=1, le=24, description="Fixed-point fractional bits.")


class StorageConfig(_Strict):
    kind: Literal["local", "s3"] = "local"
    root: str = Field("runs/storage", description="LocalStore root directory.")


class FederationConfig(_Strict):
    run: str = Field("demo", description="Run id; rerunning the same id resumes it.")
    seed: int = 0
    data_dir: str | None = Field(None, description="MNIST root (else FEDRING_DATA, shared copy, download).")
    host: AccountConfig = AccountConfig(name="host")
    accounts: list[AccountConfig] = Field(
        default_factory=lambda: [AccountConfig(name=f"account-{i}") for i in (1, 2, 3)]
    )
    partition: PartitionConfig = PartitionConfig()
    training: TrainingConfig = TrainingConfig()
    secagg: SecAggConfig = SecAggConfig()
    storage: StorageConfig = StorageConfig()
    share_policy: str | None = Field(None, description="Policy the committed global model is sealed to.")

    @field_validator("run")
    @classmethod
    def _run(cls, v: str) -> str:
        return check_name("run id", v)

    @model_validator(mode="after")
    def _roster(self) -> "FederationConfig":
        names = [a.name for a in self.accounts]
        if len(names) < 1:
            raise ValueError("accounts: at least one account is needed")
        if len(set(names)) != len(names) or self.host.name in names:
            raise ValueError("accounts: names must be unique and differ from the host's")
        t = self.secagg.threshold
        if t is not None and not 1 <= t <= len(names):
            raise ValueError(f"secagg.threshold must be between 1 and {len(names)} accounts")
        return self

    @property
    def threshold(self) -> int:
        return self.secagg.threshold or len(self.accounts) // 2 + 1


def load_config(path: str | Path) -> FederationConfig:
    """Read and validate a federation file; errors name the file and the option."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"federation file {p} not found (create one with `fedring init`)")
    try:
        raw = yaml.safe_load(p.read_text()) or {}
        return FederationConfig.model_validate(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        raise ConfigError(f"{p}: {_explain(exc)}") from exc


def build_config(**overrides: object) -> FederationConfig:
    """Build a config from nested keyword overrides, turning validation errors into ConfigError."""
    try:
        return FederationConfig.model_validate(overrides)
    except ValidationError as exc:
        raise ConfigError(_explain(exc)) from exc


def _explain(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(x) for x in err['loc']) or 'config'}: {err['msg']}" for err in exc.errors()
    )
