"""``fedring demo`` and ``fedring run``: train a federation, show progress, write the report.

Prefect is imported inside the commands, so other commands start fast.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from fedring.config import FederationConfig, build_config, load_config
from fedring.report import accuracy_png, rows, write_csv

console = Console()


def train_and_report(cfg: FederationConfig, run_dir: Path, *, dispatch: str = "embedded") -> dict:
    """Run the host flow with progress bars, then print the table and write CSV + plot.

    The run's lease is taken before Prefect starts (a second process on the run is refused
    at once, exit code 8), and the Prefect server this command starts dies with it
    (``fedring.cli.prefect_env.prefect_server``); SIGTERM stops the run like Ctrl-C.
    """
    from fedring.cli.prefect_env import prefect_server
    from fedring.lease import hold_run
    from fedring.split import preflight
    from fedring.storage import host_store

    preflight(cfg)
    with _terminate_as_interrupt(), hold_run(host_store(cfg), cfg.run), prefect_server() as address:
        if address is not None:
            console.print(f"Prefect server of this run: View at {address}")
        try:
            manifest = _train(cfg, dispatch)
        finally:
            _flush_run_logs()
    run_dir.mkdir(parents=True, exist_ok=True)
    committed = manifest["committed"]
    table = Table(title=f"run {cfg.run}")
    for col in ("round", "accuracy", "loss", "participants", "dropped", "seconds"):
        table.add_column(col, justify="right")
    for r in rows(committed):
        table.add_row(str(r["round"]), f"{r['accuracy']:.2%}", f"{r['loss']:.4f}", str(r["participants"]), r["dropped"], f"{r['seconds']:.1f}")
    console.print(table)
    csv_path = write_csv(committed, run_dir / "metrics.csv")
    png_path = run_dir / "accuracy.png"
    png_path.write_bytes(accuracy_png(committed, f"run {cfg.run}"))
    console.print(f"metrics: {csv_path}\nplot:    {png_path}")
    return manifest


def _train(cfg: FederationConfig, dispatch: str) -> dict:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from flows.host import federated_training
    from flows.progress import Event, listen

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
                acc = (event.detail or {}).get("accuracy")
                console.print(f"round {event.round} committed: test accuracy {acc:.2%}")
            elif event.account is not None:
                progress.update(stage_bar, description=f"round {event.round}: {event.stage} {event.account}")
            else:
                progress.update(stage_bar, description=f"round {event.round}: {event.stage} done")

        with listen(show):
            manifest = federated_training(cfg, dispatch=dispatch)
        progress.update(rounds_bar, completed=len(manifest["committed"]))
    return manifest


def _flush_run_logs() -> None:
    """Send the run logs Prefect still queues while its server runs (at exit they fail, loudly)."""
    import logging

    for name in ("prefect.flow_runs", "prefect.task_runs"):
        for handler in logging.getLogger(name).handlers:
            handler.flush()


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt, as Ctrl-C does: the run stops, its lease and server end."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
        config: Annotated[Optional[Path], typer.Option("--config", "-c", help="Federation file; the options above are ignored.")] = None,
    ) -> None:
        """Train a CNN on MNIST across local accounts with secure aggregation (no cloud needed)."""
        if config is not None:
            cfg = load_config(config)
            train_and_report(cfg, run_dir or Path("runs") / cfg.run)
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
            storage={"kind": "local", "root": str(run_dir / "storage")},
        )
        train_and_report(cfg, run_dir)

    @app.command("run")
    def run_cmd(
        config: Annotated[Path, typer.Option("--config", "-c", help="Federation file (fedring init writes one).")],
        resume: Annotated[Optional[str], typer.Option(help="Resume this run id instead of the file's.")] = None,
        run_dir: Annotated[Optional[Path], typer.Option(help="Where plot and CSV go (default runs/RUN).")] = None,
        deployments: Annotated[bool, typer.Option(help="Run client stages as Prefect deployments on work pools.")] = False,
    ) -> None:
        """Train the federation described by a configuration file (resumable)."""
        cfg = load_config(config)
        if resume:
            cfg = cfg.model_copy(update={"run": resume})
        train_and_report(cfg, run_dir or Path("runs") / cfg.run, dispatch="deployments" if deployments else "embedded")
