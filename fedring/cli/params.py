"""Options and arguments several commands share, checked while the command line is parsed.

Whatever a user names on the command line is checked here, before a command starts
work: IN must be a readable file (or ``-``, stdin), OUT a file in an existing folder (or
``-``, stdout), a federation file must exist, a run id must be a valid name. A failure
is a usage error: exit 2, the usage line and one line saying what to fix.

Conventions: ``-c`` is always ``--config`` (the federation file); an argument or option
with the metavar ``OUT`` is a file the command writes (``tests/test_cli_contract.py``
finds them by that metavar and checks each one).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from fedring.errors import ConfigError
from fedring.layout import check_name

STDIO = "-"


def check_output(value: str | Path | None) -> str | Path | None:
    """OUT: ``-``, or a path that is not a directory, in a folder that exists and is writable."""
    if value is None or str(value) == STDIO:
        return value
    path = Path(value)
    if path.is_dir():
        raise typer.BadParameter(f"{str(value)!r} is a directory; name a file to write")
    folder = path.parent
    if not folder.is_dir():
        raise typer.BadParameter(f"folder {str(folder)!r} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise typer.BadParameter(f"folder {str(folder)!r} is not writable")
    return value


def check_input(value: str | None) -> str | None:
    """IN: ``-``, or a readable file."""
    if value is None or value == STDIO:
        return value
    path = Path(value)
    if path.is_dir():
        raise typer.BadParameter(f"{value!r} is a directory; name a file to read")
    if not path.is_file():
        raise typer.BadParameter(f"{value!r} does not exist")
    if not os.access(path, os.R_OK):
        raise typer.BadParameter(f"{value!r} is not readable")
    return value


def check_run_id(value: str | None) -> str | None:
    """A run id goes into object keys and folder names: lowercase letters, digits, dashes."""
    if value is None:
        return value
    try:
        return check_name("run id", value)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None


def check_folder(value: Path | None) -> Path | None:
    """A folder a command creates: not a file, and under an ancestor that is a writable folder."""
    if value is None:
        return value
    if value.exists() and not value.is_dir():
        raise typer.BadParameter(f"{str(value)!r} is a file, not a folder")
    ancestor = value
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise typer.BadParameter(f"{str(ancestor)!r} is a file, so {str(value)!r} cannot be created")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise typer.BadParameter(f"folder {str(ancestor)!r} is not writable")
    return value


_CONFIG_CHECKS = {"exists": True, "dir_okay": False, "readable": True}

ConfigFile = Annotated[Path, typer.Option(
    "--config", "-c", metavar="FILE", help="Federation file (`fedring init` writes one).", **_CONFIG_CHECKS)]
OptionalConfigFile = Annotated[Optional[Path], typer.Option(  # noqa: UP007 - typer needs Optional
    "--config", "-c", metavar="FILE", help="Federation file.", **_CONFIG_CHECKS)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout (messages go to stderr).")]
InArg = Annotated[str, typer.Argument(
    metavar="IN", callback=check_input, show_default=False, help="File to read; - reads stdin.")]
OutArg = Annotated[str, typer.Argument(
    metavar="OUT", callback=check_output, show_default=False,
    help="File to write (replaced only if the command succeeds); - writes stdout.")]
