"""``fedring run`` with a workload that cannot run, or accounts without data: one line, exit code 2, no run left behind.

Through the real command line (a subprocess), as a user meets it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

BIN = Path(sys.executable).parent


def _fedring_run(tmp_path: Path, workload: dict) -> subprocess.CompletedProcess:
    config = {
        "run": "cli",
        "accounts": [{"name": "alpha"}, {"name": "beta"}],
        "training": {"rounds": 1},
        "workload": workload,
        "storage": {"kind": "local", "root": str(tmp_path / "storage")},
    }
    path = tmp_path / "federation.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "COLUMNS": "400"}
    env.pop("PREFECT_API_URL", None)
    return subprocess.run([BIN / "fedring", "run", "--config", str(path), "--run-dir", str(tmp_path / "out")],
                          env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)


def _runs_written(tmp_path: Path) -> list[Path]:
    """Manifests or models of any run (the run's lease, taken and released, is not a run)."""
    return [p for p in (tmp_path / "storage").glob("*/runs/*/*") if p.name != "lease"]


def test_a_workload_that_does_not_import_stops_run_before_anything_starts(tmp_path):
    done = _fedring_run(tmp_path, {"name": "no_such_package.model:Net"})

    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "workload 'no_such_package.model:Net'" in lines[0]
    assert "module 'no_such_package.model' does not import" in lines[0]
    assert not _runs_written(tmp_path)


@pytest.mark.slow  # starts Prefect's ephemeral server
def test_accounts_without_data_stop_run_naming_the_account_and_the_command_to_put_it(tmp_path):
    done = _fedring_run(tmp_path, {"name": "mnist"})

    assert done.returncode == 2, done.stdout + done.stderr
    assert "error: account 'alpha', bucket 'fedring-alpha': holds no data under 'data/'" in done.stderr
    assert "`fedring data put --account alpha SRC`" in done.stderr
    assert not _runs_written(tmp_path)
