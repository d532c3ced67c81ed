"""``--json`` on ``demo`` and ``run``: stdout is the final metrics and nothing else (real Prefect, real MNIST)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FEDRING = Path(sys.executable).with_name("fedring")
SETTINGS = ["--accounts", "2", "--rounds", "2", "--limit", "600"]
FILE = """\
run: small-secure
accounts: [{name: account-1}, {name: account-2}]
partition: {limit: 600}
training: {rounds: 2, local_epochs: 2, lr_decay: 0.7}   # the demo's schedule: the same settings as the demo run
storage: {root: runs/small-secure/storage}
"""


def fedring(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(FEDRING), *args], cwd=cwd, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "COLUMNS": "200"})


@pytest.mark.slow
def test_demo_and_run_print_their_final_metrics_as_json(tmp_path: Path, monkeypatch) -> None:
    from fedring.config import load_config
    from fedring.split import simulate_accounts

    (tmp_path / "federation.yaml").write_text(FILE)
    monkeypatch.chdir(tmp_path)
    simulate_accounts(load_config(tmp_path / "federation.yaml"))  # the accounts' data in place: `run` has no split

    plain = fedring(tmp_path, "demo", "--plaintext", "--json", *SETTINGS)
    secure = fedring(tmp_path, "run", "-c", "federation.yaml", "--json")

    assert plain.returncode == 0, plain.stderr
    assert secure.returncode == 0, secure.stderr
    baseline, result = json.loads(plain.stdout), json.loads(secure.stdout)  # stdout holds nothing else
    assert (baseline["run"], baseline["secure"], result["run"], result["secure"]) == (
        "demo-plaintext", False, "small-secure", True)
    for doc in (baseline, result):
        assert doc["rounds_committed"] == 2 and [r["round"] for r in doc["rounds"]] == [1, 2]
        assert doc["accuracy"] == doc["rounds"][-1]["accuracy"] > 0.5
        assert doc["rounds"][-1]["participants"] == 2
        assert Path(tmp_path, doc["plot"]).read_bytes().startswith(b"\x89PNG")
        assert json.loads(Path(tmp_path, doc["metrics_csv"]).with_name("summary.json").read_text()) == doc
    assert baseline["settings"] == result["settings"]
    assert (baseline["compared_with"], result["compared_with"]) == (None, "demo-plaintext")
    assert "committed: test accuracy" in secure.stderr  # progress went to stderr
