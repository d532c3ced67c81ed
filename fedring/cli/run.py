"""``fedring demo`` and ``fedring run``: train a federation, show progress, write the report.

Prefect is imported inside the commands, so other commands start fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from fedring.config import FederationConfig, build_config, load_config
from fedring.report import accuracy_png, rows, write_csv

console = Console()


def train_and_report(cfg: FederationConfig, run_dir: Path, *, dispatch: str = "embedded", simulate: bool = False) -> dict:
    """Run the host flow with progress bars, then print the table and write CSV + plot.

    ``simulate``: the demo's simulation step first, each account's part of MNIST into its bucket.
    """
    from fedring.split import preflight, simulate_accounts

    preflight(cfg, simulate=simulate)
    if simulate:
        simulate_accounts(cfg)
    from fedring.cli.prefect_env import apply_server_settings

    apply_server_settings()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from flows.host import federated_training
    from flows.progress import Event, listen

    run_dir.mkdir(parents=True, exist_ok=True)
    n_rounds = cfg.training.rounds
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        rounds_bar = progress.add_task(f"run {cfg.run}: rounds", total=n_rounds)
        stage_bar = progress.add_task("starting (Prefect, data)", total=None)

        def show(event: Event) -> None:
            if event.stage == "round":
                progress.update(rounds_bar, completed=event.round - 1)
                progress.reset(stage_bar, total=None, description=f"round {event.round}")
            elif event.stage == "commit":
                progress.update(rounds_bar, completed=event.round)
                console.print(f"round {event.round} committed: {_accuracies(event.detail or {})}")
            elif event.account is not None:
                progress.update(stage_bar, description=f"round {event.round}: {event.stage} {event.account}")
            else:
                progress.update(stage_bar, description=f"round {event.round}: {event.stage} done")

        with listen(show):
            manifest = federated_training(cfg, dispatch=dispatch)
        progress.update(rounds_bar, completed=len(manifest["committed"]))
    committed = manifest["committed"]
    table = Table(title=f"run {cfg.run}")
    columns = ("round", "accuracy", "loss", "fed_accuracy", "fed_loss", "participants", "dropped", "seconds")
    for col in columns:
        table.add_column(col, justify="right")
    for r in rows(committed):
        table.add_row(*(_cell(c, r[c]) for c in columns))
    console.print(table)
    csv_path = write_csv(committed, run_dir / "metrics.csv")
    png_path = run_dir / "accuracy.png"
    png_path.write_bytes(accuracy_png(committed, f"run {cfg.run}"))
    console.print(f"metrics: {csv_path}\nplot:    {png_path}")
    return manifest


def _accuracies(detail: dict) -> str:
    found = [f"{what} {detail[key]:.2%}" for key, what in (("accuracy", "test accuracy"),
             ("federated_accuracy", "federated accuracy")) if detail.get(key) is not None]
    return ", ".join(found) or "no evaluation"


def _cell(column: str, value: object) -> str:
    if value is None:
        return "-"
    if column.endswith("accuracy"):
        return f"{value:.2%}"
    if column.endswith("loss"):
        return f"{value:.4f}"
    return f"{value:.1f}" if column == "seconds" else str(value)


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        accounts: Annotated[int, typer.Option(min=1, help="Client accounts.")] = 3,
        rounds: Annotated[int, typer.Option(help="Federated rounds.")] = 5,
        partition: Annotated[str, typer.Option(help="iid, dirichlet or shards.")] = "iid",
        alpha: Annotated[float, typer.Option(help="Dirichlet concentration (smaller: more skew).")] = 0.5,
        classes_per_account: Annotated[int, typer.Option(help="Classes per account (shards).")] = 2,
        epochs: Annotated[int, typer.Option(help="Local epochs per round.")] = 1,
        lr_decay: Annotated[float, typer.Option(help="Round r trains with 0.001 * lr_decay^(r-1).")] = 1.0,
        seed: Annotated[int, typer.Option(help="Seed for the split, the model and training.")] = 0,
        run: Annotated[str, typer.Option(help="Run id; the same id resumes the run.")] = "demo",
        run_dir: Annotated[Optional[Path], typer.Option(help="Where storage, plot and CSV go (default runs/RUN).")] = None,
        data_dir: Annotated[Optional[Path], typer.Option(help="MNIST directory (else $FEDRING_DATA).")] = None,
        limit: Annotated[Optional[int], typer.Option(help="Use only the first N training images.")] = None,
        plaintext: Annotated[bool, typer.Option(help="Plain federated averaging (no secure aggregation), for comparison.")] = False,
        workload: Annotated[str, typer.Option(help="A workload that reads the MNIST split: mnist or resnet18-mnist.")] = "mnist",
        config: Annotated[Optional[Path], typer.Option("--config", "-c", help="Federation file; the options above are ignored.")] = None,
    ) -> None:
        """Train a CNN on MNIST across local accounts with secure aggregation (no cloud needed).

        The demo's simulation step first gives each account a part of MNIST's training and
        test sets, in its own bucket; then the run is what ``fedring run`` does.
        """
        if config is not None:
            cfg = load_config(config)
            train_and_report(cfg, run_dir or Path("runs") / cfg.run, simulate=True)
            return
        run_dir = run_dir or Path("runs") / run
        cfg = build_config(
            run=run,
            seed=seed,
            data_dir=str(data_dir) if data_dir else None,
            accounts=[{"name": f"account-{i + 1}"} for i in range(accounts)],
            partition={"scheme": partition, "alpha": alpha, "classes_per_account": classes_per_account, "limit": limit},
            training={"rounds": rounds, "local_epochs": epochs, "lr_decay": lr_decay},
            secagg={"secure": not plaintext},
            workload={"name": workload},
            storage={"kind": "local", "root": str(run_dir / "storage")},
        )
        train_and_report(cfg, run_dir, simulate=True)

    @app.command("run")
    def run_cmd(
        config: Annotated[Path, typer.Option("--config", "-c", help="Federation file (fedring init writes one).")],
        resume: Annotated[Optional[str], typer.Option(help="Resume this run id instead of the file's.")] = None,
        run_dir: Annotated[Optional[Path], typer.Option(help="Where plot and CSV go (default runs/RUN).")] = None,
        deployments: Annotated[bool, typer.Option(help="Run client stages as Prefect deployments on work pools.")] = False,
    ) -> None:
        """Train the federation described by a configuration file (resumable), on the data its accounts hold."""
        cfg = load_config(config)
        if resume:
            cfg = cfg.model_copy(update={"run": resume})
        train_and_report(cfg, run_dir or Path("runs") / cfg.run, dispatch="deployments" if deployments else "embedded")
