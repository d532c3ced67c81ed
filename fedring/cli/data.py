"""``fedring data put`` and ``fedring data check``: an owner's data in its own bucket.

Both act as the account's owner, with the account's own credentials (``owner_store``:
on S3 its ``FEDRING_<ACCOUNT>_*`` variables or profile), never through the host. ``put``
copies a local file or folder under the data prefix; ``check`` reads it as the workload
will and prints counts and label histograms, for the owner only.

``check`` reads with the workload the federation file names (``--workload`` overrides it,
for trying another one). Errors are printed as one line, however long (exit codes as in
``fedring.cli``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.text import Text

from fedring.errors import ConfigError, FedringError

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

AccountOpt = Annotated[str, typer.Option("--account", "-a", help="The client account whose own bucket holds the data.")]
ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Federation file.")]
PrefixOpt = Annotated[Optional[str], typer.Option(
    "--prefix", help="Data prefix in the bucket: data/ or a folder under it (default: the federation file's).")]
WorkloadOpt = Annotated[Optional[str], typer.Option(
    "--workload", "-w", help="Built-in name or package.module:object (default: the federation file's).")]


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """A fedring error as one unwrapped line on stderr and its documented exit code."""
    from fedring.cli import exit_code_for

    try:
        yield
    except FedringError as exc:
        err.print(Text.assemble(("error:", "bold red"), f" {exc}"), highlight=False)
        sys.exit(exit_code_for(exc))


def _federation(config: Path, account: str):
    from fedring.config import load_config

    cfg = load_config(config)
    if account == cfg.host.name:
        raise ConfigError(f"--account {account!r} is the host; data lives in the client accounts' own buckets")
    cfg.account(account)
    return cfg


def put(
    source: Annotated[Path, typer.Argument(help="A file, or a folder whose files keep their relative paths.")],
    account: AccountOpt,
    config: ConfigOpt = Path("federation.yaml"),
    prefix: PrefixOpt = None,
) -> None:
    """Copy local data into the account's own bucket under the prefix (same bytes again: no-op)."""
    with _one_line_errors():
        from fedring.data.put import put_data
        from fedring.storage import owner_store

        cfg = _federation(config, account)
        prefix = prefix or cfg.workload.data_prefix
        report = put_data(owner_store(cfg, account), source, prefix=prefix)
    console.print(
        f"put {len(report.written)} new object(s), {report.bytes:,} bytes in all, into account {report.account!r} "
        f"(bucket {report.bucket}) under {prefix}; {len(report.unchanged)} were already there",
        highlight=False,
    )


def check(
    account: AccountOpt,
    config: ConfigOpt = Path("federation.yaml"),
    workload: WorkloadOpt = None,
    prefix: PrefixOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Read the account's data as the workload will; show counts and label histograms."""
    with _one_line_errors():
        from fedring.storage import owner_store
        from fedring.workloads import resolve_workload
        from fedring.workloads.check import check_account_data

        cfg = _federation(config, account)
        options = cfg.workload.options if workload in (None, cfg.workload.name) else {}
        chosen = resolve_workload(workload or cfg.workload.name, options)
        report = check_account_data(chosen, owner_store(cfg, account), prefix=prefix or cfg.workload.data_prefix,
                                    seed=cfg.seed)
    if as_json:
        typer.echo(json.dumps(report, indent=1))
        return
    console.print(
        f"account {report['account']!r} (bucket {report['bucket']}), {report['prefix']}: "
        f"read by workload {report['workload']!r}",
        highlight=False,
    )
    for name, split in report["splits"].items():
        if split is None:
            note = " (this account adds nothing to federated evaluation)" if name == "eval" else ""
            console.print(f"  {name}: none{note}")
            continue
        shape = "x".join(map(str, split["feature_shape"])) or "scalar"
        labels = ", ".join(f"{label}: {count}" for label, count in split["label_histogram"].items())
        console.print(
            f"  {name}: {split['examples']} examples from {split['source']}, features {shape}", highlight=False
        )
        console.print(f"    labels  {labels}", highlight=False)


def register(app: typer.Typer) -> None:
    from fedring.cli import PANEL_SETUP

    data_app = typer.Typer(help="An account's own data: put it in its bucket, check it.", no_args_is_help=True)
    data_app.command("put")(put)
    data_app.command("check")(check)
    app.add_typer(data_app, name="data", rich_help_panel=PANEL_SETUP)
