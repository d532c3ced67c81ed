"""The federation configuration: one validated document (``federation.yaml``).

Every option has a default that runs the embedded demo; errors name the option.

Credentials never live in this file. On S3 each account's own credentials come from,
in order: a ``boto3.Session`` handed in by the caller (the Prefect ``CloudAccount``
block does this), the environment variables ``FEDRING_<ACCOUNT>_ACCESS_KEY_ID``,
``FEDRING_<ACCOUNT>_SECRET_ACCESS_KEY`` and optionally ``FEDRING_<ACCOUNT>_SESSION_TOKEN``
(``<ACCOUNT>`` is the account name upper-cased, dashes as underscores), the named
AWS profile ``profile``, and finally boto3's default chain. See ``docs/s3.md``.
"""

from __future__ import annotations

from pathlib import Path
from collections.abc import Mapping
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fedring.errors import ConfigError
from fedring.keys.identity import parse_pin
from fedring.layout import CLIENT_STAGES, DATA_PREFIX, check_data_prefix, check_name
from fedring.policy import MAX_CLAUSES

PLACEHOLDER = "change-me"  # how the templates mark a value the user must fill in


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
    profile: str | None = Field(None, description="AWS shared-config profile with this account's own credentials.")
    principal_arn: str | None = Field(
        None,
        description="IAM principal acting for this account (user or role ARN). The host's is the only "
        "principal named in client trust policies; default: arn:aws:iam::<account_id>:root.",
    )
    attributes: list[str] = Field(default_factory=list, description="Attribute names this account issues.")
    holds: list[str] = Field(default_factory=list, description="Attributes (authority:name) it holds.")
    identity: str | None = Field(
        None,
        description="The account's pinned identity key, 'ed25519:<64 hex digits>', exchanged out of band "
        "(`fedring identity show` prints it). Every statement the account signs is checked against it. "
        "Omitted: the key in this machine's key directory, if this machine holds the account's keys.",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_name("account name", v)

    @field_validator("identity")
    @classmethod
    def _identity(cls, v: str | None) -> str | None:
        if v is not None:
            parse_pin(v)
        return v

    @field_validator("account_id")
    @classmethod
    def _account_id(cls, v: str | None) -> str | None:
        if v is not None and not (v.isdigit() and len(v) == 12):
            raise ValueError("account_id must be 12 digits (AWS account id / Ceph tenant)")
        return v

    @field_validator("external_id")
    @classmethod
    def _external_id(cls, v: str | None) -> str | None:
        if v is not None and v.startswith(PLACEHOLDER):
            raise ValueError(
                f"{v!r} is the template's placeholder: agree a secret with the account's owner "
                "(e.g. python -c 'import secrets; print(secrets.token_hex(16))') and put it here"
            )
        return v

    @property
    def bucket_name(self) -> str:
        return self.bucket or f"fedring-{self.name}"

    @property
    def env_prefix(self) -> str:
        """Prefix of this account's credential variables, e.g. ``FEDRING_ACCOUNT_1_``."""
        return "FEDRING_" + self.name.upper().replace("-", "_") + "_"

    def host_role_arn(self, role_name: str) -> str | None:
        """The role the host assumes here: ``role_arn``, else derived from ``account_id``."""
        if self.role_arn:
            return self.role_arn
        return f"arn:aws:iam::{self.account_id}:role/{role_name}" if self.account_id else None

    @property
    def principal(self) -> str | None:
        """The principal named in trust policies (``principal_arn`` or the account root)."""
        if self.principal_arn:
            return self.principal_arn
        return f"arn:aws:iam::{self.account_id}:root" if self.account_id else None


class PartitionConfig(_Strict):
    scheme: Literal["iid", "dirichlet", "shards"] = "iid"
    alpha: float = Field(0.5, description="Dirichlet concentration; smaller is more skewed.")
    classes_per_account: int = Field(2, ge=1, description="Shards scheme: classes per account.")
    limit: int | None = Field(None, ge=1, description="Use only the first N training images (tests).")

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
    learning_rate: float = Field(1e-3, gt=0, description="Adam learning rate of round 1.")
    lr_decay: float = Field(
        1.0, gt=0, le=1, description="Round r trains with learning_rate * lr_decay^(r-1); 1 keeps it constant."
    )
    eval_limit: int | None = Field(None, ge=1, description="Evaluate on the first N test images only (tests).")


class SecAggConfig(_Strict):
    secure: bool = Field(True, description="Secure aggregation; False runs the plaintext baseline.")
    threshold: int | None = Field(None, ge=1, description="Shamir threshold t; default: majority of the roster.")
    rings: int = Field(1, ge=1, description="Parallel rings.")
    degree: int | None = Field(None, ge=1, description="Neighbour-graph degree k; None: complete graph.")
    clip: float = Field(8.0, gt=0, description="Per-coordinate clip of updates before quantising.")
    frac_bits: int = Field(
        24, ge=1, le=27, description="Fixed-point fractional bits (clip * 2^frac_bits must stay below 2^31)."
    )


class WorkloadConfig(_Strict):
    """What the federation trains: the model, how each account reads its data, trains and evaluates.

    Every organisation takes it from its own federation file, never from a request: resolving
    it imports and runs the code it names (see docs/workloads.md).
    """

    name: str = Field(
        "mnist", description="A built-in workload (mnist, breast-cancer, resnet18-mnist) or 'package.module:object'."
    )
    options: dict[str, Any] = Field(default_factory=dict, description="Keyword arguments the workload is created with.")
    data_prefix: str = Field(
        DATA_PREFIX, description="Where each account keeps its data in its own bucket: data/ or a folder under it."
    )
    federated_evaluation: bool | None = Field(
        None,
        description="After every round each account evaluates the new model on its own eval split; the host "
        "learns only the totals (a secure sum of its own, a second sum per round). None: only when the "
        "workload has no test set of the host's own (MNIST has one).",
    )

    @field_validator("data_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        return check_data_prefix(v)


class StorageConfig(_Strict):
    """Where buckets live: ``local`` directories (the embedded default) or ``s3``."""

    kind: Literal["local", "s3"] = Field("local", description="'local' (directories) or 's3'.")
    root: str = Field("runs/storage", description="LocalStore root directory.")
    endpoint_url: str | None = Field(
        None, description="S3/STS/IAM endpoint for accounts that set none (None: AWS)."
    )
    addressing_style: Literal["auto", "path", "virtual"] = Field(
        "auto", description="S3 addressing; 'path' for Ceph radosgw and most local servers."
    )
    host_role_name: str = Field(
        "fedring-host-access", description="Name of the role `fedring provision` creates in each client account."
    )
    trust_external_id: bool = Field(
        True,
        description="Require sts:ExternalId in the role trust policies. Ceph radosgw 16 cannot evaluate "
        "this condition and then denies every AssumeRole: set false there (the host still sends it).",
    )
    session_seconds: int = Field(3600, ge=900, le=43200, description="Assumed-role session length.")
    refresh_seconds: int = Field(
        300, ge=0, description="Renew an assumed-role session this long before it expires."
    )
    max_attempts: int = Field(
        5, ge=1, le=20, description="Attempts per S3 request (throttling, 5xx, dropped connections)."
    )
    multipart_threshold_mb: int = Field(
        64, ge=5, description="Objects above this size go up in parts (parallel, resumable)."
    )
    part_size_mb: int = Field(16, ge=5, description="Multipart part size.")


class DeadlineConfig(_Strict):
    """How long the host waits for an account's agent (``fedring run --agents``) before it drops it.

    A deadline runs from the moment the host writes the stage request. An account that has
    not answered by then is a declared dropout for that stage (``DeadlineMissed``); the
    round goes on without it, so one organisation offline never stalls the others.
    """

    default_seconds: float = Field(
        120, gt=0, description="Every client stage without an entry in 'stages' (contribute aside)."
    )
    stages: dict[str, float] = Field(
        default_factory=dict, description="Fixed deadlines per client stage, e.g. {contribute: 900, ring-hop: 60}."
    )
    training_factor: float = Field(
        3.0, ge=1, description="contribute without an entry: this factor times the account's training "
        "seconds in the last committed round, plus default_seconds."
    )
    first_training_seconds: float = Field(
        1800, gt=0, description="contribute without an entry when nothing was measured yet (a run's first round)."
    )

    @field_validator("stages")
    @classmethod
    def _stages(cls, v: dict[str, float]) -> dict[str, float]:
        for stage, seconds in v.items():
            if stage not in CLIENT_STAGES:
                raise ValueError(f"{stage!r} is not a client stage ({', '.join(CLIENT_STAGES)})")
            if not seconds > 0:
                raise ValueError(f"{stage}: must be > 0 seconds")
        return v


WORKERS_ENV = "FEDRING_WORKERS"


def workers_setting(configured: int | str, environ: Mapping[str, str]) -> int | str:
    """The worker count in force: ``FEDRING_WORKERS`` over the file's (``auto`` or a whole number >= 0)."""
    raw = environ.get(WORKERS_ENV, "").strip()
    if not raw:
        return configured
    if raw != "auto" and not raw.isdigit():
        raise ConfigError(f"{WORKERS_ENV} must be 'auto' or a whole number >= 0, got {raw!r}")
    return raw if raw == "auto" else int(raw)


class ExecutionConfig(_Strict):
    """Where the embedded default runs client stages (docs/scale.md).

    Each account's stage runs in a worker process of a Dask cluster through Prefect's
    task runner (prefect-dask): a local cluster started for the run, or an existing
    one at ``address``. The ring hops stay sequential in the host. Torch uses
    ``threads`` threads per stage; the same count gives the same model bit for bit
    (torch splits its reductions by thread), whatever the number of workers.
    """

    workers: int | Literal["auto"] = Field(
        "auto",
        description="Worker processes of the local cluster: 'auto' = one per core, at most one per "
        "account; 0 = in the host process, one account after another. Env FEDRING_WORKERS wins.",
    )
    threads: int | None = Field(
        None, ge=1, description="Torch threads per client stage; None: cores / concurrent stages (at least 1)."
    )
    address: str | None = Field(
        None,
        description="Scheduler of an existing Dask cluster (e.g. tcp://10.0.0.5:8786): client stages run "
        "on its workers instead of a local cluster. Env FEDRING_DASK_ADDRESS wins.",
    )

    @field_validator("workers")
    @classmethod
    def _workers(cls, v: int | str) -> int | str:
        if isinstance(v, int) and v < 0:
            raise ValueError("execution.workers must be 'auto' or a whole number >= 0")
        return v


class FederationConfig(_Strict):
    run: str = Field("demo", description="Run id; rerunning the same id resumes it.")
    seed: int = Field(0, ge=0, description="Seed of the split, the initial model and training.")
    data_dir: str | None = Field(None, description="MNIST root (else FEDRING_DATA, shared copy, download).")
    host: AccountConfig = AccountConfig(name="host")
    accounts: list[AccountConfig] = Field(
        default_factory=lambda: [AccountConfig(name=f"account-{i}") for i in (1, 2, 3)]
    )
    partition: PartitionConfig = PartitionConfig()
    training: TrainingConfig = TrainingConfig()
    secagg: SecAggConfig = SecAggConfig()
    workload: WorkloadConfig = WorkloadConfig()
    storage: StorageConfig = StorageConfig()
    deadlines: DeadlineConfig = DeadlineConfig()
    execution: ExecutionConfig = ExecutionConfig()

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
        limit = self.partition.limit
        if limit is not None and limit < len(names):
            raise ValueError(f"partition.limit: {len(names)} accounts but only {limit} images to split")
        if self.secagg.secure and len(names) >= MAX_CLAUSES:
            raise ValueError(
                f"accounts: a secure federation has at most {MAX_CLAUSES - 1} client accounts, {len(names)} given: each "
                f"round's model is sealed to the host and every participant, one envelope clause each, and an envelope "
                f"holds at most {MAX_CLAUSES} clauses"
            )
        t = self.secagg.threshold
        if t is not None and not 1 <= t <= len(names):
            raise ValueError(f"secagg.threshold must be between 1 and {len(names)} accounts")
        if self.storage.kind == "s3":
            self._check_s3()
        return self

    def _check_s3(self) -> None:
        role = self.storage.host_role_name
        for i, acct in enumerate(self.accounts):
            if acct.host_role_arn(role) is None:
                raise ValueError(
                    f"accounts.{i}.role_arn: storage.kind is 's3', so account {acct.name!r} needs "
                    "role_arn (the role the host assumes) or account_id to derive it"
                )
            if self.storage.trust_external_id and not acct.external_id:
                raise ValueError(
                    f"accounts.{i}.external_id: account {acct.name!r} needs an external id "
                    "(or set storage.trust_external_id: false)"
                )
        if self.host.principal is None:
            raise ValueError("host.principal_arn: on S3 the host needs principal_arn or account_id")
        buckets = [a.bucket_name for a in [self.host, *self.accounts]]
        if len(set(buckets)) != len(buckets):
            raise ValueError("accounts: bucket names must differ between accounts")

    def account(self, name: str) -> AccountConfig:
        """The host or client account called ``name`` (``ConfigError`` if none is)."""
        for acct in [self.host, *self.accounts]:
            if acct.name == name:
                return acct
        raise ConfigError(
            f"unknown account {name!r}; the federation has host {self.host.name!r} and "
            f"{[a.name for a in self.accounts]}"
        )

    def endpoint_for(self, acct: AccountConfig) -> str | None:
        return acct.endpoint_url or self.storage.endpoint_url

    @property
    def threshold(self) -> int:
        return self.secagg.threshold or len(self.accounts) // 2 + 1


def load_config(path: str | Path) -> FederationConfig:
    """Read and validate a federation file; errors name the file and the option.

    An empty file is refused rather than read as "all defaults": that would start a
    full-size run nobody asked for.
    """
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"federation file {p} not found (create one with `fedring init`)")
    try:
        raw = yaml.safe_load(p.read_text("utf-8"))
    except IsADirectoryError:
        raise ConfigError(f"{p} is a directory; name the federation file in it") from None
    except OSError as exc:
        raise ConfigError(f"cannot read federation file {p}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text (byte {exc.start}); is it a federation file?") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {' '.join(str(exc).split())}") from exc
    if raw is None:
        raise ConfigError(f"{p} is empty; `fedring init` writes a commented federation file to start from")
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: expected a mapping of settings (run:, accounts:, ...), found a {type(raw).__name__}")
    try:
        return FederationConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{p}: {_explain(exc)}") from exc


def with_run(cfg: FederationConfig, run: str) -> FederationConfig:
    """``cfg`` with another run id, validated like one read from a file."""
    return build_config(**{**cfg.model_dump(mode="json"), "run": run})


def build_config(**overrides: object) -> FederationConfig:
    """Build a config from nested keyword overrides, turning validation errors into ConfigError."""
    try:
        return FederationConfig.model_validate(overrides)
    except ValidationError as exc:
        raise ConfigError(_explain(exc)) from exc


def _explain(exc: ValidationError) -> str:
    def one(err: object) -> str:
        where = ".".join(str(x) for x in err["loc"])  # type: ignore[index]
        msg = str(err["msg"]).removeprefix("Value error, ")  # type: ignore[index]
        return f"{where}: {msg}" if where else msg

    return "; ".join(one(err) for err in exc.errors())
