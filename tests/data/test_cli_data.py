"""``fedring data put`` and ``fedring data check`` through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from fedring.workloads.breast_cancer import write_account_tables

REPO = Path(__file__).resolve().parents[2]
# Runs the CLI and reports, on stderr's last line, whether Prefect was imported.
CODE = (
    "import sys\nfrom fedring.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n"
    "    code = e.code or 0\nelse:\n    code = 0\nsys.stderr.write('PREFECT_LOADED=%s\\n' % ('prefect' in sys.modules))\n"
    "sys.exit(code)"
)


def fedring(cwd: Path, *args: str | Path) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-c", CODE, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    *lines, marker = done.stderr.splitlines() or [""]
    assert marker == "PREFECT_LOADED=False", done.stderr
    done.stderr = "\n".join(lines) + ("\n" if lines else "")
    return done


@pytest.fixture
def federation(tmp_path):
    assert fedring(tmp_path, "init").returncode == 0
    write_account_tables(tmp_path / "src", ["account-1", "account-2", "account-3"], scheme="iid", seed=0)
    return tmp_path


def test_put_then_check_shows_the_owner_its_counts(federation):
    first = fedring(federation, "data", "put", "--account", "account-1", "src/account-1")
    again = fedring(federation, "data", "put", "--account", "account-1", "src/account-1")
    check = fedring(federation, "data", "check", "--account", "account-1", "--workload", "breast-cancer")
    as_json = fedring(federation, "data", "check", "-a", "account-1", "-w", "breast-cancer", "--json")

    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("put 2 new object(s)") and "into account 'account-1' (bucket fedring-account-1) under data/" in first.stdout
    assert "put 0 new object(s)" in again.stdout and "2 were already there" in again.stdout
    assert (federation / "runs/storage/fedring-account-1/data/train.csv").read_bytes() == (
        federation / "src/account-1/train.csv").read_bytes()
    assert check.returncode == 0, check.stderr
    train = pd.read_csv(federation / "src/account-1/train.csv")
    malignant, benign = (train["target"] == 0).sum(), (train["target"] == 1).sum()
    assert f"train: {len(train)} examples from data/train.csv, features 30" in check.stdout
    assert f"labels  malignant: {malignant}, benign: {benign}" in check.stdout
    report = json.loads(as_json.stdout)
    assert report["splits"]["eval"]["examples"] == len(pd.read_csv(federation / "src/account-1/eval.csv"))


def test_a_table_without_the_label_column_exits_2_with_one_line(federation):
    bad = federation / "bad"
    bad.mkdir()
    pd.read_csv(federation / "src/account-2/train.csv").drop(columns="target").to_csv(bad / "train.csv", index=False)
    assert fedring(federation, "data", "put", "--account", "account-2", bad).returncode == 0

    done = fedring(federation, "data", "check", "--account", "account-2", "--workload", "breast-cancer")

    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(
        "error: account 'account-2', bucket 'fedring-account-2', key 'data/train.csv': no label column 'target' (columns: ")


@pytest.mark.parametrize(
    "args,message",
    [
        (["put", "--account", "host", "src/account-1"], "error: --account 'host' is the host; data lives in the client"),
        (["put", "--account", "account-9", "src/account-1"], "error: unknown account 'account-9'"),
        (["put", "--account", "account-1", "src/nowhere"], "error: src/nowhere: no such file or folder"),
        (["put", "--account", "account-1", "--prefix", "outbox/", "src/account-1"], "error: data prefix 'outbox/' must be"),
        (["check", "--account", "account-3"], "error: account 'account-3', bucket 'fedring-account-3': holds no data under"),
        (["check", "--account", "account-1", "-w", "mypkg.nothere:W"], "error: workload 'mypkg.nothere:W': module"),
        (["check", "--account", "account-1", "--config", "missing.yaml"], "error: federation file missing.yaml not found"),
    ],
)
def test_bad_input_exits_2_with_one_line(federation, args, message):
    done = fedring(federation, "data", *args)

    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(message), done.stderr
