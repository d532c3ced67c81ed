"""The ``fedring`` command.

Sub-command groups live one per module and register themselves on the app. Commands
that run flows import ``flows`` inside the command, so ``fedring open`` or
``fedring predict`` never load Prefect.

Exit codes (stable, documented in README):

====  ==========================================================
0     success
1     unexpected error (a bug: please report it)
2     bad input: options, files, configuration, data
3     policy not satisfied (the key ring lacks attributes)
4     integrity failure (tampered, truncated, replayed object)
5     unknown key (id / epoch not in the key ring or directory)
6     storage error (not found, access denied, credentials)
7     protocol error (too few survivors or shares)
8     run busy: another process holds the run (the message names it)
====  ==========================================================
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from fedring import errors

EXIT_BAD_INPUT = 2
EXIT_POLICY = 3
EXIT_INTEGRITY = 4
EXIT_UNKNOWN_KEY = 5
EXIT_STORAGE = 6
EXIT_PROTOCOL = 7
EXIT_RUN_BUSY = 8

_EXIT_CODES: list[tuple[type[Exception], int]] = [
    (errors.PolicyNotSatisfied, EXIT_POLICY),
    (errors.IntegrityError, EXIT_INTEGRITY),
    (errors.UnknownKey, EXIT_UNKNOWN_KEY),
    (errors.StorageError, EXIT_STORAGE),
    (errors.ProtocolError, EXIT_PROTOCOL),
    (errors.RunBusy, EXIT_RUN_BUSY),
    (errors.ConfigError, EXIT_BAD_INPUT),
    (errors.PolicyError, EXIT_BAD_INPUT),
]

app = typer.Typer(
    name="fedring",
    help="Secure federated learning across cloud accounts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err_console = Console(stderr=True)


def exit_code_for(exc: BaseException) -> int:
    """The documented exit code of a fedring error (1 for anything else)."""
    for kind, code in _EXIT_CODES:
        if isinstance(exc, kind):
            return code
    return 1


def _register_commands() -> None:
    """Each module adds its commands to ``app``; imported here to keep start-up lazy."""
    import importlib

    for module in ("run", "crypto", "accounts", "models", "data", "stats"):
        try:
            mod = importlib.import_module(f"fedring.cli.{module}")
        except ModuleNotFoundError as exc:  # a group not built yet
            if exc.name != f"fedring.cli.{module}":
                raise
            continue
        mod.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and turn fedring errors into exit codes and one clear line."""
    _register_commands()
    try:
        app(args=argv, standalone_mode=False)
    except errors.FedringError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(exit_code_for(exc))
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("aborted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click usage errors carry their own exit code
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(EXIT_BAD_INPUT)
        raise
