"""The exit-code contract of the whole command line, through the real ``fedring`` executable.

Every command and sub-command is found in the app itself, so a new one is covered the
day it is added. Each is run, in a fresh process, with no arguments, an unknown option,
a value of the wrong type, a required option left out, and OUT (any argument or option
whose metavar is ``OUT``) naming a directory or a file in a missing folder. Each must
exit 2 with the usage line and one error line on stderr, no traceback, and leave the
working directory exactly as it was.
"""

from __future__ import annotations

import os
import subprocess
import sys
import typing
from pathlib import Path

import pytest
import typer

from fedring.cli import _register_commands, app

FEDRING = Path(sys.executable).with_name("fedring")

# Commands for which no arguments at all is a complete, valid invocation.
RUN_WITHOUT_ARGUMENTS = {
    ("demo",): "trains the default demo",
    ("init",): "writes ./federation.yaml",
}


def _commands() -> list[tuple[tuple[str, ...], typing.Any]]:
    _register_commands()
    found = []

    def walk(command: typing.Any, path: tuple[str, ...]) -> None:
        found.append((path, command))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return found


COMMANDS = _commands()
LEAVES = [(path, cmd) for path, cmd in COMMANDS if not hasattr(cmd, "commands")]


def _id(path: tuple[str, ...]) -> str:
    return " ".join(path) or "fedring"


def _flag(param: typing.Any) -> str:
    return max(param.opts, key=len)


def _bare(param: typing.Any) -> typing.Any:
    annotation = param.type_descriptor.annotation
    return typing.get_args(annotation)[0] if typing.get_origin(annotation) is list else annotation


def _value(param: typing.Any, work: Path) -> str:
    """A value that passes parsing for ``param`` (files and folders made in ``work``)."""
    info = param.type_descriptor.parameter_info
    if param.metavar == "OUT":
        return str(work / "out.bin")
    if param.metavar == "IN":
        return str(work / "in.bin")
    kind = _bare(param)
    if kind is Path:
        return str(work / ("folder" if not info.file_okay else "in.bin")) if info.exists else str(work / "new")
    if kind in (int, float):
        return "1"
    if typing.get_origin(kind) is typing.Literal:
        return str(typing.get_args(kind)[0])
    return "x"


def _args(param: typing.Any, value: str) -> list[str]:
    return [value] if param.param_type_name == "argument" else [_flag(param), value]


def _required(command: typing.Any, work: Path, *, skip: typing.Any = None, out: str | None = None) -> list[str]:
    """Options first, then arguments in order: every required parameter but ``skip``."""
    options, arguments = [], []
    for param in command.params:
        if param is skip or not (param.required or (out is not None and param.metavar == "OUT")):
            continue
        value = out if (out is not None and param.metavar == "OUT") else _value(param, work)
        (arguments if param.param_type_name == "argument" else options).extend(_args(param, value))
    return options + arguments


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A working directory with an input file, a folder, and nothing else."""
    (tmp_path / "in.bin").write_bytes(b"payload")
    (tmp_path / "folder").mkdir()
    return tmp_path


def fedring(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "FEDRING_CACHE": str(work / ".cache-unused")}
    return subprocess.run([str(FEDRING), *args], cwd=work, capture_output=True, text=True, timeout=120, env=env)


def assert_usage_error(done: subprocess.CompletedProcess[str], path: tuple[str, ...], *, says: str = "") -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    assert lines[0].startswith(f"Usage: {' '.join(('fedring', *path))} "), done.stderr
    errors = [line for line in lines if line.startswith("error: ")]
    assert errors == [lines[-1]], done.stderr  # exactly one error line, and it is the last
    assert says.lower() in errors[0].lower(), errors[0]
    return errors[0]


def test_the_contract_covers_the_commands_users_meet() -> None:
    names = {_id(path) for path, _ in COMMANDS}
    outs = {(_id(path), _flag(p) if p.param_type_name == "option" else "OUT")
            for path, cmd in LEAVES for p in cmd.params if p.metavar == "OUT"}

    assert {"demo", "run", "seal", "open", "authority issue", "models list", "predict"} <= names
    assert {("seal", "OUT"), ("open", "OUT"), ("rewrap", "OUT"), ("init", "--output"),
            ("authority export", "--output")} <= outs


@pytest.mark.parametrize(("path", "command"), [c for c in COMMANDS if c[0] not in RUN_WITHOUT_ARGUMENTS],
                         ids=lambda v: _id(v) if isinstance(v, tuple) else "")
def test_no_arguments(work: Path, path: tuple[str, ...], command: typing.Any) -> None:
    before = _snapshot(work)

    done = fedring(work, *path)

    message = assert_usage_error(done, path)
    assert any(word in message for word in ("Missing", "Commands:", "say where")), message
    assert _snapshot(work) == before


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=lambda v: _id(v) if isinstance(v, tuple) else "")
def test_unknown_option(work: Path, path: tuple[str, ...], command: typing.Any) -> None:
    before = _snapshot(work)

    done = fedring(work, *path, "--no-such-option")

    assert_usage_error(done, path, says="No such option: --no-such-option")
    assert _snapshot(work) == before


TYPED = [(path, cmd, p) for path, cmd in LEAVES for p in cmd.params
         if _bare(p) in (int, float) or typing.get_origin(_bare(p)) is typing.Literal]


@pytest.mark.parametrize(("path", "command", "param"), TYPED,
                         ids=[f"{_id(path)} {_flag(p)}" for path, _, p in TYPED])
def test_wrong_type(work: Path, path: tuple[str, ...], command: typing.Any, param: typing.Any) -> None:
    before = _snapshot(work)

    done = fedring(work, *path, *_args(param, "not-a-value"), *_required(command, work))

    assert_usage_error(done, path, says=f"Invalid value for '{_flag(param)}'")
    assert _snapshot(work) == before


REQUIRED = [(path, cmd, p) for path, cmd in LEAVES for p in cmd.params if p.required and p.param_type_name == "option"]


@pytest.mark.parametrize(("path", "command", "param"), REQUIRED,
                         ids=[f"{_id(path)} {_flag(p)}" for path, _, p in REQUIRED])
def test_missing_required_option(work: Path, path: tuple[str, ...], command: typing.Any, param: typing.Any) -> None:
    before = _snapshot(work)

    done = fedring(work, *path, *_required(command, work, skip=param))

    assert_usage_error(done, path, says=f"Missing option '{_flag(param)}'")
    assert _snapshot(work) == before


OUTS = [(path, cmd) for path, cmd in LEAVES if any(p.metavar == "OUT" for p in cmd.params)]


@pytest.mark.parametrize(("path", "command"), OUTS, ids=[_id(path) for path, _ in OUTS])
@pytest.mark.parametrize(("target", "says"), [("folder", "is a directory"),
                                              ("missing/out.bin", "does not exist")])
def test_out_that_cannot_be_written(work: Path, path: tuple[str, ...], command: typing.Any, target: str,
                                    says: str) -> None:
    before = _snapshot(work)

    done = fedring(work, *path, *_required(command, work, out=str(work / target)))

    assert_usage_error(done, path, says=says)
    assert _snapshot(work) == before
