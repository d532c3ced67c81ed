"""``fedring stats``: federated statistics of the accounts' data, of which the host learns only totals.

Runs the ``federated-statistics`` flow (Prefect is imported inside the command): each
account sums its own data, a secure sum gives the host the totals, and the command
prints the statistics of the union: rows, rows per class, and, for a workload that
declares statistics, each feature's mean and standard deviation.
"""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from fedring.cli.params import ConfigFile, JsonOpt, check_run_id
from fedring.config import load_config, with_run

console = Console()


def stats(
    config: ConfigFile,
    run: Annotated[Optional[str], typer.Option(  # noqa: UP007
        metavar="RUN", callback=check_run_id, help="Run id; a run's statistics are computed once.",
        show_default="the file's")] = None,
    agents: Annotated[bool, typer.Option(help="Ask each organisation's agent to run its client stages.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Federated statistics of every account's data (counts, classes, feature means): the host sees totals only."""
    from fedring.cli.prefect_env import apply_server_settings
    from fedring.split import preflight

    cfg = load_config(config)
    if run:
        cfg = with_run(cfg, run)
    preflight(cfg)
    apply_server_settings()
    from flows.statistics import federated_statistics

    result = federated_statistics(cfg, dispatch="agents" if agents else "embedded")
    if as_json:
        typer.echo(json.dumps(result, indent=1))
        return
    labels = ", ".join(f"{name}: {count}" for name, count in result["labels"].items()) or "-"
    console.print(f"run {cfg.run}: {result['count']} training examples over {len(cfg.accounts)} accounts; "
                  f"per class: {labels}", highlight=False)
    if result["features"]:
        table = Table(title="features (union of the accounts' data)")
        for col in ("feature", "mean", "std"):
            table.add_column(col, justify="right")
        for name, found in result["features"].items():
            table.add_row(name, f"{found['mean']:.6g}", f"{found['std']:.6g}")
        console.print(table)


def register(app: typer.Typer) -> None:
    from fedring.cli import PANEL_TRAIN

    app.command("stats", rich_help_panel=PANEL_TRAIN)(stats)
