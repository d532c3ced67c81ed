"""Bad input to `fedring demo` / `fedring run` fails in the pre-flight: exit 2, one line, nothing written.

Each case runs the real command line in a fresh process, which also reports whether
Prefect was imported: the pre-flight runs before Prefect is, so none of them may load it.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fedring.layout import manifest
from fedring.ml.data import Dataset
from fedring.ml.partition_io import save_partition
from fedring.storage import LocalStore

REPO = Path(__file__).resolve().parents[1]
CLI = ("import sys\nfrom fedring.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n"
       "    code = e.code or 0\nelse:\n    code = 0\n"
       "sys.stderr.write('PREFECT_LOADED=%s\\n' % ('prefect' in sys.modules))\nsys.exit(code)")


def fedring(cwd: Path, *args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CLI, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "COLUMNS": "200", **(env or {})})


def error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The one line the command printed (the Prefect report aside)."""
    lines = [line for line in done.stderr.splitlines() if line and not line.startswith("PREFECT_LOADED=")]
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def refused(done: subprocess.CompletedProcess[str], message: str) -> None:
    assert done.returncode == 2, done.stderr
    assert message in error_line(done)
    assert "PREFECT_LOADED=False" in done.stderr


def federation(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "federation.yaml"
    path.write_text(text)
    return path


SMALL = "run: alpha\npartition: {limit: 300}\ntraining: {rounds: 1}\nstorage: {root: store}\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--partition", "dirichlet", "--alpha", "0"], "partition.alpha"),
        (["--accounts", "6", "--limit", "5"], "6 accounts but only 5 images"),
        (["--data-dir", "/nonexistent/mnist"], "--data-dir=/nonexistent/mnist does not hold the MNIST files"),
    ],
)
def test_bad_demo_input_exits_2_and_writes_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    done = fedring(tmp_path, "demo", "--run-dir", tmp_path / "run", *args)

    refused(done, message)
    assert list(tmp_path.iterdir()) == []


def test_missing_data_env_var_is_named(tmp_path: Path) -> None:
    done = fedring(tmp_path, "demo", env={"FEDRING_DATA": str(tmp_path / "empty")})

    refused(done, "FEDRING_DATA=")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\xff\xfe\x00r\x00u\x00n", "not UTF-8 text"),
        (b"partition: {limit: -5}\n", "partition.limit"),
        (b"training: {eval_limit: 0}\n", "training.eval_limit"),
        (b"accounts: [{name: a, account_id: '222222222222', external_id: change-me-a}]\n"
         b"host: {name: host, account_id: '111111111111'}\nstorage: {kind: s3}\n", "template's placeholder"),
    ],
)
def test_bad_federation_file(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "federation.yaml").write_bytes(content)

    done = fedring(tmp_path, "run", "-c", "federation.yaml")

    refused(done, message)
    assert [p.name for p in tmp_path.iterdir()] == ["federation.yaml"]


@pytest.mark.parametrize(("resume", "message"), [
    ("a/../../x", "run id 'a/../../x' must be 1-63 lowercase letters, digits or dashes"),
    ("Bad_ID", "run id 'Bad_ID' must be"),
])
def test_resume_run_ids_are_validated(tmp_path: Path, resume: str, message: str) -> None:
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    federation(work, SMALL)

    done = fedring(work, "run", "-c", "federation.yaml", "--resume", resume)

    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["a", "a/b", "a/b/federation.yaml"]


def test_resume_of_an_unknown_run_lists_the_runs_there(tmp_path: Path) -> None:
    federation(tmp_path, SMALL)
    host = LocalStore(tmp_path / "store", "fedring-host")
    for run in ("alpha", "beta"):
        host.put(manifest(run, 0), b"{}")

    done = fedring(tmp_path, "run", "-c", "federation.yaml", "--resume", "never-existed")

    refused(done, "--resume never-existed: no such run in the host's bucket fedring-host; runs there: alpha, beta")
    assert not (tmp_path / "runs").exists()


def test_resume_with_no_runs_at_all(tmp_path: Path) -> None:
    federation(tmp_path, SMALL)

    done = fedring(tmp_path, "run", "-c", "federation.yaml", "--resume", "alpha")

    refused(done, "runs there: none")
    assert [p.name for p in tmp_path.iterdir()] == ["federation.yaml"]


def test_another_split_of_an_account_is_refused_before_prefect(tmp_path: Path, mnist) -> None:
    train, _ = mnist
    federation(tmp_path, SMALL)
    held = LocalStore(tmp_path / "store", "fedring-account-2", account="account-2")
    save_partition(held, Dataset(train.images[:100], train.labels[:100]), scheme="iid", seed=7, source="mnist[:300]")

    done = fedring(tmp_path, "demo", "-c", "federation.yaml")  # the split is the demo's simulation step

    refused(done, "account 'account-2' already holds the partition iid (seed 7, mnist[:300])")
    assert "belongs to the account, not to a run, so a new run id does not change it" in done.stderr
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["fedring-account-2"]


def test_corrupt_key_file_in_a_key_ring(tmp_path: Path) -> None:
    assert fedring(tmp_path, "authority", "create", "acme", "--dir", "acme").returncode == 0
    (tmp_path / "in").write_bytes(b"x")
    bad = tmp_path / "acme" / "keys" / "acme+broken@1.key.json"
    bad.write_bytes(b'{"attribute": "acme:broken", "epo')
    bad.chmod(0o600)

    opened = fedring(tmp_path, "open", "-k", "acme/keys", "in", "out")
    issued = fedring(tmp_path, "authority", "issue", "eval", "-a", "acme", "--to", "acme/keys")

    for done in (opened, issued):
        assert done.returncode == 2, done.stderr
        assert "a key file there is damaged" in error_line(done)
    assert not (tmp_path / "out").exists()
    assert json.loads((tmp_path / "acme" / "public.json").read_text())["attributes"].keys() == {"acme:self"}


def test_preflight_reads_the_same_labels_as_torchvision(mnist) -> None:
    from fedring.config import build_config
    from fedring.split import mnist_train_labels

    train, _ = mnist

    assert np.array_equal(mnist_train_labels(build_config()), train.labels)


def test_a_damaged_label_file_is_refused(tmp_path: Path) -> None:
    from fedring.ml.data import FILES

    data = tmp_path / "mnist"
    data.mkdir()
    for name in FILES:
        with gzip.open(data / name, "wb") as fh:
            fh.write(b"\x00\x00\x08\x01\x00\x00\x00\x05abc")  # a label header promising 5 labels, then 3

    done = fedring(tmp_path, "demo", "--data-dir", data, "--run-dir", tmp_path / "run")

    refused(done, "train-labels-idx1-ubyte.gz is not an IDX label file")
    assert not (tmp_path / "run").exists()
