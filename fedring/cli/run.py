"""``fedring demo`` and ``fedring run``: train a federation, show progress, write the report.

Prefect is imported inside the commands, so other commands start fast. Ctrl-C and SIGTERM
stop a run cleanly: the round in flight stops (its recorded decisions stay), the flow
runs show Cancelled in Prefect, and the command exits with 130; running it again resumes.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer
from rich.console import Console
from rich.table import Table

from fedring.config import FederationConfig, build_config, load_config
from fedring.errors import ConfigError
from fedring.report import accuracy_png, rows, write_csv

console = Console()


def train_and_report(cfg: FederationConfig, run_dir: Path, *, dispatch: str = "embedded") -> dict:
    """Run the host flow with progress bars, then print the table and write CSV + plot."""
    from fedring.split import preflight

    preflight(cfg)
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
                acc = (event.detail or {}).get("accuracy")
                console.print(f"round {event.round} committed: test accuracy {acc:.2%}")
            elif event.account is not None:
                progress.update(stage_bar, description=f"round {event.round}: {event.stage} {event.account}")
            else:
                progress.update(stage_bar, description=f"round {event.round}: {event.stage} done")

        since = datetime.now(timezone.utc)
        with listen(show), _sigterm_interrupts():
            try:
                manifest = federated_training(cfg, dispatch=dispatch)
            except BaseException as exc:
                if _interrupted(exc):
                    progress.stop()
                    _cancelled(cfg.run, since)
                raise
        progress.update(rounds_bar, completed=len(manifest["committed"]))
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


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM stops the run the way Ctrl-C does (Prefect's own handler hands it back to this one)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupted(exc: BaseException) -> bool:
    from prefect.exceptions import TerminationSignal

    return isinstance(exc, (KeyboardInterrupt, TerminationSignal))


def _cancelled(run: str, since: datetime) -> None:
    """Mark the interrupted flow runs Cancelled in Prefect and say how to resume."""
    from flows.cancel import mark_cancelled

    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not cut the bookkeeping short
    try:
        marked = mark_cancelled(run, since, "stopped by Ctrl-C or SIGTERM")
    except Exception as exc:  # the Prefect API may be gone with the process group (Ctrl-C reaches it too)
        console.print(f"could not mark the flow runs cancelled in Prefect: {type(exc).__name__}: {exc}", soft_wrap=True)
        marked = 0
    console.print(f"run {run} cancelled ({marked} flow runs marked Cancelled); nothing half-committed. "
                  "Run the same command again to resume.", soft_wrap=True)


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
        agents: Annotated[bool, typer.Option(help="Ask each organisation's agent to run its client stages "
                                             "(signed requests in its inbox, deadlines; see docs/deploy.md).")] = False,
    ) -> None:
        """Train the federation described by a configuration file (resumable)."""
        cfg = load_config(config)
        if resume:
            cfg = cfg.model_copy(update={"run": resume})
        if agents and not cfg.secagg.secure:
            raise ConfigError(f"{config}: secagg.secure is false; --agents runs secure rounds only")
        if agents:  # every pin known before anything starts (ConfigError naming the account otherwise)
            from fedring.round.party import pins

            pins(cfg)
        train_and_report(cfg, run_dir or Path("runs") / cfg.run, dispatch="agents" if agents else "embedded")
