"""``fedring init``, ``fedring provision``, ``fedring identity show`` and ``fedring accounts register``.

Each organisation runs these for its own account only (docs/deploy.md): ``init`` writes a
commented federation file (embedded default, or S3 with ``--s3``);
``provision --account NAME`` creates that account's bucket, role and policies with its own
admin credentials, prints every document it applies on stderr (``--dry-run``: without
calling anything) and, on stdout, the one JSON document the organisation sends the others;
``identity show`` prints the account's identity pin (creating the identity once);
``accounts register --account NAME`` saves that account's Prefect blocks (``CloudAccount`` +
``AwsCredentials``) on the organisation's own Prefect, importing Prefect only there.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from fedring.cli import PANEL_SETUP
from fedring.cli.params import STDIO, ConfigFile, JsonOpt, check_output
from fedring.config import FederationConfig, load_config
from fedring.errors import ConfigError

console = Console()
err_console = Console(stderr=True, soft_wrap=True)

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
  # federated_evaluation: true  # each account evaluates every round's model, the host learns totals
                             # only; default: only when the host has no test set (MNIST has one)

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
# 2. Each organisation: `fedring provision --config federation-s3.yaml --account NAME --dry-run`
#    prints every IAM and bucket policy of its own account; review, then run it without
#    --dry-run with its own admin credentials. It prints the JSON to send the others: put
#    every organisation's `identity` pin (and any role_arn) into your copy of this file.
# 3. Each organisation: `fedring accounts register --config federation-s3.yaml --account NAME`
#    saves its own Prefect blocks; each client puts its data into its own bucket
#    (`fedring data put --account NAME DIR`, checked with `fedring data check`) and starts
#    `fedring agent --config ... --account NAME`.
# 4. The host: `fedring run --config federation-s3.yaml --agents`. See docs/deploy.md.
run: demo-s3
seed: 0
workload: {name: mnist}      # a built-in or package.module:object (docs/workloads.md)

host:
  name: host
  account_id: "111111111111"          # 12 digits (AWS account id; Ceph: tenant)
  bucket: fedring-host-111111111111   # bucket names are global on AWS
  region: us-east-1
  # the principal acting for the host; the only one client roles trust.
  principal_arn: arn:aws:iam::111111111111:role/fedring-host
  # identity: ed25519:...             # the host's pin, from its `fedring provision --account host`
  # profile: fedring-host             # AWS profile with the host's credentials (else env vars)

accounts:
  - name: account-1
    account_id: "222222222222"
    bucket: fedring-account-1-222222222222
    region: us-east-1
    # role the host assumes here; default arn:aws:iam::<account_id>:role/<storage.host_role_name>
    # role_arn: arn:aws:iam::222222222222:role/fedring-host-access
    external_id: change-me-account-1  # a random string per account (confused deputy); provision refuses change-me
    # identity: ed25519:...           # its pin, from its `fedring provision --account account-1`
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
deadlines:                              # agent mode: how long the host waits for each account's agent
  default_seconds: 120                  # every stage but contribute
  training_factor: 3.0                  # contribute: 3 x its training seconds last round + default_seconds
  first_training_seconds: 1800          # contribute in a run's first round (nothing measured yet)
  # stages: {contribute: 900}           # or fixed deadlines per stage

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
    accounts_app = typer.Typer(help="Prefect blocks for the accounts of a federation.")
    app.add_typer(accounts_app, name="accounts", rich_help_panel=PANEL_SETUP)

    identity_app = typer.Typer(help="An account's identity key (Ed25519): its pin for the federation files.")
    app.add_typer(identity_app, name="identity", rich_help_panel=PANEL_SETUP)

    @app.command(rich_help_panel=PANEL_SETUP)
    def init(
        s3: Annotated[bool, typer.Option("--s3", help="Write the S3 example instead of the embedded one.")] = False,
        output: Annotated[Optional[str], typer.Option(  # noqa: UP007 - typer needs Optional
            "-o", "--output", metavar="OUT", callback=check_output, help="File to write; - writes stdout.",
            show_default="federation.yaml, or federation-s3.yaml with --s3")] = None,
        force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
    ) -> None:
        """Write a commented federation file (embedded default, or S3 with --s3)."""
        text = S3_TEMPLATE if s3 else LOCAL_TEMPLATE
        if output == STDIO:
            typer.echo(text, nl=False)
            return
        path = Path(check_output(output or ("federation-s3.yaml" if s3 else "federation.yaml")))
        if path.exists() and not force:
            raise ConfigError(f"{path} exists; pass --force to overwrite it or -o to write elsewhere")
        path.write_text(text)
        console.print(f"wrote {path}", highlight=False)

    @app.command(rich_help_panel=PANEL_SETUP)
    def provision(
        config: ConfigFile,
        account: Annotated[Optional[str], typer.Option("--account", "-a", help=(  # noqa: UP007 - typer needs Optional
            "Provision only this account, with its own admin credentials, and print (stdout) the JSON to send "
            "the other organisations. Without it: every account (one admin for all: trials, demos)."))] = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan and documents; change nothing.")] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Create buckets, the host-access role in each client, and their policies (idempotent).

        Needs storage.kind: s3. With --account, stdout is the JSON document to send the other
        organisations (the steps go to stderr). Otherwise, with --json, stdout is one JSON list
        of steps (account, action, target, document), as planned with --dry-run or as applied.
        """
        from fedring import provision as prov

        cfg = load_config(config)
        if cfg.storage.kind != "s3":
            raise ConfigError(f"{config}: storage.kind is {cfg.storage.kind!r}; provisioning is for 's3'")
        quiet = as_json or account is not None  # stdout carries one JSON document only
        out = err_console if account is not None else console

        def echo(text: str) -> None:
            if not (as_json and account is None):  # with --json the steps are printed once, at the end
                out.print(text, highlight=False, markup=False)

        if dry_run:
            steps = prov.plan(cfg, account)
            for step in steps:
                echo(step.render())
            done = "dry run: nothing changed"
        else:
            steps = prov.apply(cfg, account=account, echo=echo)
            done = f"provisioned {1 if account else len(cfg.accounts) + 1} account(s) ({len(steps)} steps)"
        (err_console if quiet else console).print(done, highlight=False)
        if account is not None:
            pin = _pin(cfg, account, create=not dry_run)
            typer.echo(json.dumps(prov.exchange_document(cfg, account, pin), indent=2))
        elif as_json:
            typer.echo(json.dumps([dataclasses.asdict(step) for step in steps], indent=1))

    @identity_app.command("show")
    def identity_show(
        config: ConfigFile,
        account: Annotated[str, typer.Option("--account", "-a", help="The account whose identity to show.")],
    ) -> None:
        """Print the account's identity pin (ed25519:<hex>), creating the identity once; keys stay on this machine."""
        print(_pin(load_config(config), account, create=True))

    @accounts_app.command("register")
    def register_blocks(
        config: ConfigFile,
        account: Annotated[str, typer.Option("--account", "-a", help="This organisation's account (only its blocks).")],
    ) -> None:
        """Create or update this account's CloudAccount and AwsCredentials blocks on this organisation's Prefect.

        Keys come from FEDRING_<ACCOUNT>_* variables (stored as secrets in the block); an
        account with only `profile:` gets a block that names the profile and stores no secret.
        Run it against your own Prefect only: anyone who can reach a Prefect API can read
        the secrets in its blocks.
        """
        cfg = load_config(config)
        if cfg.storage.kind != "s3":
            raise ConfigError(f"{config}: storage.kind is {cfg.storage.kind!r}; blocks are for 's3'")
        cfg.account(account)
        from blocks.cloud_account import register_account  # Prefect loads only for this command

        register_account(cfg, account, echo=lambda text: console.print(text, highlight=False))


def _pin(cfg: FederationConfig, account: str, *, create: bool) -> str | None:
    """The account's identity pin from this machine's key directory (created if ``create``)."""
    from fedring.keys import Identity
    from fedring.round.party import IDENTITY_FILE, keys_dir, load_identity

    cfg.account(account)
    if create:
        return load_identity(cfg, account).pin
    path = keys_dir(cfg, account) / IDENTITY_FILE
    return Identity.load(path).pin if path.exists() else None
