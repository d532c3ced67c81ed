"""``fedring init``, ``fedring accounts register`` and ``fedring provision``.

``init`` writes a commented federation file (embedded default, or S3 with ``--s3``);
``provision`` creates buckets, roles and policies on S3 and prints every document it applies
(``--dry-run`` prints without calling anything); ``accounts register`` turns the file into
Prefect blocks (``CloudAccount`` + ``AwsCredentials`` per account), importing Prefect only there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from fedring.config import load_config
from fedring.errors import ConfigError

console = Console()

LOCAL_TEMPLATE = """\
# fedring federation file: the embedded default (buckets are directories, no cloud).
# Each account keeps its own data in its bucket (`fedring data put --account NAME DIR`); then
# `fedring run --config federation.yaml`. Or `fedring demo --config federation.yaml` first
# gives each account a part of MNIST (the demo's simulation step), then runs.
run: demo                    # run id; running the same id again resumes it
seed: 0
# data_dir: /path/to/mnist   # else $FEDRING_DATA, a shared copy, or a download

host:
  name: host                 # the account that orchestrates, unmasks and aggregates
accounts:                    # client accounts: each trains on data that never leaves it
  - name: account-1
    attributes: [member]     # attributes this account issues (it is their authority)
    holds: [account-1:member, account-2:member]   # attributes it holds (authority:name)
  - name: account-2
    attributes: [member]
    holds: [account-1:member, account-2:member]
  - name: account-3
    attributes: [member]
    holds: [account-3:member]

workload:                    # what the federation trains (docs/workloads.md)
  name: mnist                # a built-in (mnist, breast-cancer, resnet18-mnist) or package.module:object
  options: {}                # keyword arguments the workload is created with
  data_prefix: data/         # where each account keeps its data in its own bucket (`fedring data put`)
  federated_evaluation: true # each account evaluates every round's model; the host learns totals only

partition:                   # `fedring demo --config` only: how it splits MNIST among the accounts
  scheme: iid                # iid | dirichlet (alpha) | shards (classes_per_account)
  alpha: 0.5
  classes_per_account: 2
training:
  rounds: 5
  local_epochs: 1
  batch_size: 64
  learning_rate: 0.001
  lr_decay: 1.0              # round r uses learning_rate * lr_decay^(r-1)
secagg:
  secure: true               # false: plaintext baseline (no masking)
  # threshold: 2             # Shamir t; default: majority of the roster
  rings: 1
  clip: 8.0
  frac_bits: 24             # fixed-point bits; clip * 2^frac_bits < 2^31

storage:
  kind: local
  root: runs/storage         # one directory per bucket
"""

S3_TEMPLATE = """\
# fedring federation file on S3: each organisation is a cloud account with its own bucket.
# 1. Fill in account ids, buckets and regions; give every account credentials (never in this
#    file): FEDRING_<ACCOUNT>_ACCESS_KEY_ID / _SECRET_ACCESS_KEY [/ _SESSION_TOKEN], with
#    <ACCOUNT> upper-cased and dashes as underscores (FEDRING_ACCOUNT_1_...), or `profile:`.
# 2. `fedring provision --config federation-s3.yaml --dry-run` prints every IAM and bucket
#    policy; review, then run it without --dry-run (each account with its own credentials).
# 3. `fedring accounts register --config federation-s3.yaml` saves Prefect blocks.
# 4. `fedring run --config federation-s3.yaml`.
run: demo-s3
seed: 0

host:
  name: host
  account_id: "111111111111"          # 12 digits (AWS account id; Ceph: tenant)
  bucket: fedring-host-111111111111   # bucket names are global on AWS
  region: us-east-1
  # the principal acting for the host; the only one client roles trust.
  principal_arn: arn:aws:iam::111111111111:role/fedring-host
  # profile: fedring-host             # AWS profile with the host's credentials (else env vars)

accounts:
  - name: account-1
    account_id: "222222222222"
    bucket: fedring-account-1-222222222222
    region: us-east-1
    # role the host assumes here; default arn:aws:iam::<account_id>:role/<storage.host_role_name>
    # role_arn: arn:aws:iam::222222222222:role/fedring-host-access
    external_id: change-me-account-1  # required by the role's trust policy (confused deputy)
    attributes: [member]
    holds: [account-1:member]
  - name: account-2
    account_id: "333333333333"
    bucket: fedring-account-2-333333333333
    region: us-east-1
    external_id: change-me-account-2
    attributes: [member]
    holds: [account-2:member]
  - name: account-3
    account_id: "444444444444"
    bucket: fedring-account-3-444444444444
    region: us-east-1
    external_id: change-me-account-3
    attributes: [member]
    holds: [account-3:member]

partition: {scheme: dirichlet, alpha: 0.5}
training: {rounds: 5, local_epochs: 1}
secagg: {secure: true, threshold: 2}

storage:
  kind: s3
  # endpoint_url: http://127.0.0.1:7480  # an S3-compatible server (Ceph radosgw); unset for AWS
  addressing_style: auto                # path for Ceph radosgw
  host_role_name: fedring-host-access
  trust_external_id: true               # false on Ceph radosgw 16 (cannot evaluate sts:ExternalId)
  session_seconds: 3600                 # assumed-role session length
  refresh_seconds: 300                  # renew sessions this long before they expire
  max_attempts: 5                       # per request: throttling, 5xx, dropped connections
  multipart_threshold_mb: 64
  part_size_mb: 16
"""


def register(app: typer.Typer) -> None:
    accounts_app = typer.Typer(help="Prefect blocks for the accounts of a federation.", no_args_is_help=True)
    app.add_typer(accounts_app, name="accounts")

    @app.command()
    def init(
        s3: Annotated[bool, typer.Option("--s3", help="Write the S3 example instead of the embedded one.")] = False,
        output: Annotated[Optional[Path], typer.Option("-o", "--output", help="File to write.")] = None,
        force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
    ) -> None:
        """Write a commented federation file (embedded default, or S3 with --s3)."""
        path = output or Path("federation-s3.yaml" if s3 else "federation.yaml")
        if path.exists() and not force:
            raise ConfigError(f"{path} exists; pass --force to overwrite it or -o to write elsewhere")
        path.write_text(S3_TEMPLATE if s3 else LOCAL_TEMPLATE)
        console.print(f"wrote {path}")

    @app.command()
    def provision(
        config: Annotated[Path, typer.Option("--config", "-c", help="Federation file with storage.kind: s3.")],
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan and documents; change nothing.")] = False,
    ) -> None:
        """Create buckets, the host-access role in each client, and their policies (idempotent)."""
        from fedring import provision as prov

        cfg = load_config(config)
        if cfg.storage.kind != "s3":
            raise ConfigError(f"{config}: storage.kind is {cfg.storage.kind!r}; provisioning is for 's3'")
        if dry_run:
            for step in prov.plan(cfg):
                console.print(step.render(), highlight=False, markup=False)
            console.print("dry run: nothing changed")
            return
        steps = prov.apply(cfg, echo=lambda text: console.print(text, highlight=False, markup=False))
        console.print(f"provisioned {len(cfg.accounts) + 1} accounts ({len(steps)} steps)")

    @accounts_app.command("register")
    def register_blocks(
        config: Annotated[Path, typer.Option("--config", "-c", help="Federation file with storage.kind: s3.")],
    ) -> None:
        """Create or update a CloudAccount and an AwsCredentials block per account.

        Keys come from FEDRING_<ACCOUNT>_* variables (stored as secrets in the block); an
        account with only `profile:` gets a block that names the profile and stores no secret.
        """
        cfg = load_config(config)
        if cfg.storage.kind != "s3":
            raise ConfigError(f"{config}: storage.kind is {cfg.storage.kind!r}; blocks are for 's3'")
        from blocks.cloud_account import register_accounts  # Prefect loads only for this command

        register_accounts(cfg, echo=lambda text: console.print(text, highlight=False))
