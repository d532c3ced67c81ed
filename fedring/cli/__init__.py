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
130   interrupted (Ctrl-C, SIGTERM): nothing half-committed; rerun to resume
====  ==========================================================
"""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text

from fedring import errors

EXIT_BAD_INPUT = 2
EXIT_POLICY = 3
EXIT_INTEGRITY = 4
EXIT_UNKNOWN_KEY = 5
EXIT_STORAGE = 6
EXIT_PROTOCOL = 7
EXIT_RUN_BUSY = 8
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it

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

# Help panels, in the order ``fedring --help`` shows them.
PANEL_TRAIN = "Train"
PANEL_SETUP = "Set up a federation"
PANEL_KEYS = "Keys and envelopes"
PANEL_SHARE = "Share and use models"

app = typer.Typer(
    name="fedring",
    help="Secure federated learning across cloud accounts.",
    pretty_exceptions_enable=False,
    add_completion=False,
)
err_console = Console(stderr=True, soft_wrap=True)  # one line per error, however long


def exit_code_for(exc: BaseException) -> int:
    """The documented exit code of a fedring error (1 for anything else)."""
    for kind, code in _EXIT_CODES:
        if isinstance(exc, kind):
            return code
    return 1


def _register_commands() -> None:
    """Each module adds its commands to ``app``; imported here to keep start-up lazy."""
    import importlib

    if app.registered_commands or app.registered_groups:
        return
    for module in ("run", "accounts", "crypto", "models", "agent", "data", "stats"):
        importlib.import_module(f"fedring.cli.{module}").register(app)


def _error_line(message: str) -> None:
    err_console.print(Text.assemble(("error:", "bold red"), " ", message))


def _usage_error(exc: typer.TyperException) -> NoReturn:
    """Usage, then one line: what was wrong and where the help is (exit 2, no traceback).

    typer 0.29 raises the exceptions of its own bundled click, all rooted in the public
    ``typer.TyperException``; a ``click.ClickException`` handler would never see them.
    """
    ctx = getattr(exc, "ctx", None)
    parts = [" ".join(exc.format_message().split()).rstrip(".")]
    if ctx is not None:
        print(ctx.get_usage(), file=sys.stderr)
        list_commands = getattr(ctx.command, "list_commands", None)
        if list_commands is not None:  # a group: name the commands it has
            parts.append(f"Commands: {', '.join(list_commands(ctx))}")
        parts.append(f"See '{ctx.command_path} --help'")
    _error_line(". ".join(parts) + ".")
    sys.exit(EXIT_BAD_INPUT)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and turn every error into its exit code and one clear line."""
    _register_commands()
    try:
        # Not standalone, typer returns the code of an Exit instead of raising it, and turns
        # Ctrl-C (KeyboardInterrupt, SIGTERM in `fedring run`) into Exit(130); commands return None.
        code = app(args=argv, standalone_mode=False)
    except errors.FedringError as exc:
        _error_line(str(exc))
        sys.exit(exit_code_for(exc))
    except typer.TyperException as exc:  # usage errors of typer's bundled click
        _usage_error(exc)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("aborted")
        sys.exit(EXIT_INTERRUPTED)
    if code == EXIT_INTERRUPTED:
        err_console.print("aborted")
    if isinstance(code, int):
        sys.exit(code)
