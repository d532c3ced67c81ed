"""Bad execution settings through the real command line: exit code 2, the option named, nothing trained."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FEDRING = str(Path(sys.executable).parent / "fedring")  # the installed command


def _fedring(*args: str, env: dict[str, str], cwd) -> subprocess.CompletedProcess:
    return subprocess.run([FEDRING, *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=900, check=False)


def test_bad_workers_in_the_federation_file_exits_2_naming_the_option(tmp_path):
    config = tmp_path / "federation.yaml"
    config.write_text("run: bad-workers\nexecution:\n  workers: -1\n")

    proc = _fedring("run", "--config", str(config), "--run-dir", str(tmp_path / "run"), env=dict(os.environ), cwd=tmp_path)

    assert proc.returncode == 2
    assert "execution.workers" in proc.stderr and "whole number >= 0" in proc.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_bad_workers_in_the_environment_exits_2_before_anything_is_written(tmp_path):
    env = dict(os.environ, FEDRING_WORKERS="many")
    storage = tmp_path / "run" / "storage"

    proc = _fedring("demo", "--accounts", "2", "--rounds", "1", "--limit", "200", "--run-dir", str(tmp_path / "run"),
                    env=env, cwd=tmp_path)

    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "FEDRING_WORKERS must be 'auto' or a whole number >= 0, got 'many'" in proc.stderr
    assert not storage.exists() or not any(p.is_file() for p in storage.rglob("*"))
