"""``fedring demo`` and ``fedring run``: train a federation, show progress, write the report.

The configuration, every path and the data are checked (``fedring.split.preflight``)
before Prefect is imported, so bad input fails in seconds and leaves nothing behind.
With ``--json`` stdout carries only the final metrics as JSON (progress goes to stderr);
the same document is kept as ``summary.json`` in the run directory, where the plot of
a later run with the same settings finds it as its baseline (``fedring.report``).
Ctrl-C and SIGTERM stop a run cleanly: the round in flight stops (its recorded decisions
stay), the flow runs show Cancelled in Prefect, and the command exits with 130; running
it again resumes.
"""

from __future__ import annotations

import json
import signal
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer
from rich.console import Console
from rich.table import Table

from fedring.cli import PANEL_TRAIN
from fedring.cli.params import ConfigFile, JsonOpt, check_folder, check_run_id
from fedring.cli.stop import StopSignals, stop_signals
from fedring.config import FederationConfig, TrainingConfig, build_config, load_config, with_run
from fedring.errors import ConfigError
from fedring.report import SUMMARY, accuracy_png, find_counterpart, rows, summary, write_csv

RUNS = Path("runs")
_LR = TrainingConfig.model_fields["learning_rate"].default
# The demo's schedule: two local epochs per round and a learning rate that decays by 0.7 a
# round reach 99.2% at round 5 on full MNIST, where one epoch at a constant rate stops at
# 99.0% (README, "What make demo prints"). A federation file keeps TrainingConfig's defaults.
DEMO_EPOCHS, DEMO_LR_DECAY = 2, 0.7

RunDirOpt = Annotated[Optional[Path], typer.Option(  # noqa: UP007 - typer needs Optional
    metavar="DIR", callback=check_folder, help="Where metrics.csv, accuracy.png and summary.json go.",
    show_default="runs/RUN")]


def train_and_report(cfg: FederationConfig, run_dir: Path, *, dispatch: str = "embedded", resume: bool = False,
                     as_json: bool = False, simulate: bool = False) -> dict:
    """Check everything, run the host flow with progress bars, then print the table and write CSV + plot.

    ``simulate`` (``fedring demo``): the demo's simulation step first, each account's part of
    MNIST into its own bucket; ``fedring run`` trains on the data the accounts already hold.

    The run's lease is taken before Prefect starts (a second process on the run is refused
    at once, exit code 8), and the Prefect server this command starts dies with it
    (``fedring.cli.prefect_env.prefect_server``); SIGTERM stops the run like Ctrl-C.
    """
    from fedring.cli.prefect_env import prefect_server
    from fedring.lease import hold_run
    from fedring.split import preflight, simulate_accounts
    from fedring.storage import host_store

    preflight(cfg, resume=resume, simulate=simulate)
    if simulate:
        simulate_accounts(cfg)
    console = Console(stderr=as_json)
    with stop_signals() as stop, hold_run(host_store(cfg), cfg.run), prefect_server() as address:
        if address is not None:
            console.print(f"Prefect server of this run: View at {address}", highlight=False)
        try:
            manifest = _train(cfg, dispatch, console, stop)
        finally:
            _flush_run_logs()
    committed = manifest["committed"]
    run_dir.mkdir(parents=True, exist_ok=True)
    csv_path = write_csv(committed, run_dir / "metrics.csv")
    png_path = run_dir / "accuracy.png"
    doc = summary(cfg, committed, metrics_csv=csv_path, plot=png_path)
    counterpart = find_counterpart(doc, run_dir)
    doc["compared_with"] = counterpart["run"] if counterpart else None
    png_path.write_bytes(accuracy_png(committed, f"run {cfg.run}", baseline=counterpart))
    (run_dir / SUMMARY).write_text(json.dumps(doc, indent=1) + "\n")
    if as_json:
        typer.echo(json.dumps(doc, indent=1))
        return manifest
    table = Table(title=f"run {cfg.run}")
    found = rows(committed)
    columns = [c for c in ("round", "accuracy", "loss", "fed_accuracy", "fed_loss", "participants", "dropped", "seconds")
               if not c.startswith(("fed_", "accuracy", "loss")) or any(r[c] is not None for r in found)]
    for col in columns:  # a kind of evaluation the run did not do gets no column
        table.add_column(col, justify="right")
    for r in found:
        table.add_row(*(_cell(c, r[c]) for c in columns))
    console.print(table)
    console.print(f"metrics: {csv_path}\nplot:    {png_path}", highlight=False)
    if counterpart is not None:
        console.print(f"         (with run {counterpart['run']} for comparison)", highlight=False)
    return manifest


def _train(cfg: FederationConfig, dispatch: str, console: Console, stop: StopSignals) -> dict:
    """The host flow with progress bars; a stop signal whose exception a library swallowed stops it at
    the next progress event of the main thread, or when it returns (``fedring.cli.stop``)."""
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
            stop.check()
            if event.stage == "round":
                progress.update(rounds_bar, completed=event.round - 1)
                progress.reset(stage_bar, total=None, description=f"round {event.round}")
            elif event.stage == "commit":
                progress.update(rounds_bar, completed=event.round)
                console.print(f"round {event.round} committed: {_accuracies(event.detail or {}, event.round)}")
            elif event.account is not None:
                progress.update(stage_bar, description=f"round {event.round}: {event.stage} {event.account}")
            else:
                progress.update(stage_bar, description=f"round {event.round}: {event.stage} done")

        since = datetime.now(timezone.utc)
        with listen(show):
            try:
                manifest = federated_training(cfg, dispatch=dispatch)
                stop.check()
            except BaseException as exc:
                if _interrupted(exc):
                    progress.stop()
                    _cancelled(cfg.run, since, console)
                raise
        progress.update(rounds_bar, completed=len(manifest["committed"]))
    return manifest


def _flush_run_logs() -> None:
    """Send the run logs Prefect still queues while its server runs (at exit they fail, loudly)."""
    import logging

    for name in ("prefect.flow_runs", "prefect.task_runs"):
        for handler in logging.getLogger(name).handlers:
            handler.flush()


def _interrupted(exc: BaseException) -> bool:
    from prefect.exceptions import TerminationSignal

    return isinstance(exc, (KeyboardInterrupt, TerminationSignal))


def _cancelled(run: str, since: datetime, console: Console) -> None:
    """Mark the interrupted flow runs Cancelled in Prefect (its server still runs) and say how to resume."""
    from flows.cancel import mark_cancelled

    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not cut the bookkeeping short
    try:
        marked = mark_cancelled(run, since, "stopped by Ctrl-C or SIGTERM")
    except Exception as exc:  # the Prefect API may be unreachable
        console.print(f"could not mark the flow runs cancelled in Prefect: {type(exc).__name__}: {exc}", soft_wrap=True)
        marked = 0
    console.print(f"run {run} cancelled ({marked} flow runs marked Cancelled); nothing half-committed. "
                  "Run the same command again to resume.", soft_wrap=True)


def _accuracies(detail: dict, rnd: int) -> str:
    found = [f"{what} {detail[key]:.2%}" for key, what in (("accuracy", "test accuracy"),
             ("federated_accuracy", "federated accuracy"),
             ("previous_federated_accuracy", f"round {rnd - 1}'s model federated accuracy"))
             if detail.get(key) is not None]
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
    @app.command(rich_help_panel=PANEL_TRAIN)
    def demo(
        accounts: Annotated[int, typer.Option(min=1, help="Client accounts.")] = 3,
        rounds: Annotated[int, typer.Option(min=1, help="Federated rounds.")] = 5,
        partition: Annotated[Literal["iid", "dirichlet", "shards"], typer.Option(help="How the data is split.")] = "iid",
        alpha: Annotated[float, typer.Option(help="Dirichlet concentration (smaller: more skew).")] = 0.5,
        classes_per_account: Annotated[int, typer.Option(min=1, help="Classes per account (shards).")] = 2,
        epochs: Annotated[int, typer.Option(min=1, help="Local epochs per round.")] = DEMO_EPOCHS,
        lr_decay: Annotated[float, typer.Option(
            help=f"Round r trains with learning rate {_LR:g} * lr_decay^(r-1).")] = DEMO_LR_DECAY,
        seed: Annotated[int, typer.Option(min=0, help="Seed for the split, the model and training.")] = 0,
        run: Annotated[Optional[str], typer.Option(  # noqa: UP007
            callback=check_run_id, help="Run id; the same id resumes the run.",
            show_default="demo, or demo-plaintext with --plaintext")] = None,
        run_dir: RunDirOpt = None,
        data_dir: Annotated[Optional[Path], typer.Option(  # noqa: UP007
            metavar="DIR", help="MNIST directory.", show_default="$FEDRING_DATA, else a shared copy, else download")] = None,
        limit: Annotated[Optional[int], typer.Option(  # noqa: UP007
            min=1, help="Use only the first N training images.", show_default="all 60,000")] = None,
        plaintext: Annotated[bool, typer.Option(help="Plain federated averaging (no secure aggregation), for comparison.")] = False,
        workload: Annotated[Literal["mnist", "resnet18-mnist"], typer.Option(
            help="A workload that reads the MNIST split.")] = "mnist",
        config: Annotated[Optional[Path], typer.Option(  # noqa: UP007
            "--config", "-c", metavar="FILE", exists=True, dir_okay=False, readable=True,
            help="Federation file; the options above are then ignored.")] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Train a CNN on MNIST across local accounts with secure aggregation (no cloud needed).

        The demo's simulation step first gives each account a part of MNIST's training and
        test sets, in its own bucket; then the run is what ``fedring run`` does. Storage,
        keys, metrics.csv and accuracy.png go to runs/RUN. The plot also shows a run beside
        it with the same settings in the other mode (e.g. the --plaintext run).
        """
        if config is not None:
            cfg = load_config(config)
            train_and_report(cfg, run_dir or RUNS / cfg.run, as_json=as_json, simulate=True)
            return
        run = run or ("demo-plaintext" if plaintext else "demo")
        run_dir = run_dir or RUNS / run
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
        train_and_report(cfg, run_dir, as_json=as_json, simulate=True)

    @app.command("run", rich_help_panel=PANEL_TRAIN)
    def run_cmd(
        config: ConfigFile,
        resume: Annotated[Optional[str], typer.Option(  # noqa: UP007
            metavar="RUN", callback=check_run_id,
            help="Resume this existing run instead of the file's run.")] = None,
        run_dir: RunDirOpt = None,
        agents: Annotated[bool, typer.Option(help="Ask each organisation's agent to run its client stages "
                                             "(signed requests in its inbox, deadlines; see docs/deploy.md).")] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Train the workload a federation file names on the data its accounts hold (the file's run id resumes it)."""
        cfg = load_config(config)
        if resume:
            cfg = with_run(cfg, resume)
        if agents and not cfg.secagg.secure:
            raise ConfigError(f"{config}: secagg.secure is false; --agents runs secure rounds only")
        if agents:  # every pin known before anything starts (ConfigError naming the account otherwise)
            from fedring.round.party import pins

            pins(cfg)
        train_and_report(cfg, run_dir or RUNS / cfg.run, dispatch="agents" if agents else "embedded",
                         resume=bool(resume), as_json=as_json)
