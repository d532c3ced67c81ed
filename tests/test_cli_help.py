"""Help texts: nothing vanishes as Rich markup, defaults are shown, ``-c`` means one thing, commands are grouped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from rich.text import Text

from tests.test_cli_contract import COMMANDS, LEAVES, _id

FEDRING = Path(sys.executable).with_name("fedring")


def _texts():
    """Every help text, docstring and default description of the command line, with where it is."""
    for path, command in COMMANDS:
        yield _id(path), command.help or ""
        for param in command.params:
            yield f"{_id(path)} {param.name}", getattr(param, "help", None) or ""
            if isinstance(param.show_default, str):
                yield f"{_id(path)} {param.name} default", param.show_default


TEXTS = [t for t in _texts() if t[1]]


@pytest.mark.parametrize(("where", "text"), TEXTS, ids=[where for where, _ in TEXTS])
def test_no_help_text_is_eaten_as_rich_markup(where: str, text: str) -> None:
    assert Text.from_markup(text).plain == text, f"{where}: Rich markup would change {text!r}"


def test_minus_c_always_means_config() -> None:
    meanings = {(_id(path), max(p.opts, key=len)) for path, cmd in LEAVES for p in cmd.params if "-c" in p.opts}

    assert meanings and {opt for _, opt in meanings} == {"--config"}, meanings


def test_every_command_sits_in_a_help_panel() -> None:
    root = dict(COMMANDS)[()]
    panels = {name: cmd.rich_help_panel for name, cmd in root.commands.items()}

    assert None not in panels.values(), panels
    assert len(set(panels.values())) == 4


def test_help_shows_defaults_and_dash_for_stdio() -> None:
    share = subprocess.run([str(FEDRING), "share", "--help"], capture_output=True, text=True, timeout=60,
                           env={"COLUMNS": "200", "PATH": ""})
    seal = subprocess.run([str(FEDRING), "seal", "--help"], capture_output=True, text=True, timeout=60,
                          env={"COLUMNS": "200", "PATH": ""})

    assert share.returncode == 0 and seal.returncode == 0
    assert "[default: (the last)]" in share.stdout and "[default: (the federation file's run)]" in share.stdout
    assert "- reads stdin" in seal.stdout and "- writes stdout" in seal.stdout
