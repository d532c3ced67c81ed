"""The registry commands end to end, their exit codes, and that none of them loads Prefect."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from fedring.cli import EXIT_BAD_INPUT, EXIT_INTEGRITY, EXIT_POLICY
from tests.registry.helpers import REPO, run_cli

ATTR = "account-1:researcher"


@pytest.fixture(scope="module")
def cli(trained, mnist, tmp_path_factory):
    lab = trained.consumer("lab", ATTR)
    root = trained.storage
    assert run_cli("share", "--storage-root", root, "--run", "reg", "-m", "mnist", "--policy", ATTR,
                   "-p", trained.keys("account-1") / "public.json") == 0
    inputs = tmp_path_factory.mktemp("inputs")
    _, test = mnist
    np.save(inputs / "ten.npy", test.images[:10])
    Image.fromarray(255 - test.images[0]).resize((93, 131)).convert("RGB").save(inputs / "seven.jpg")
    (inputs / "empty.png").write_bytes(b"")
    (inputs / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    return trained, lab, root, inputs, test


def predict(root, lab, *args) -> subprocess.CompletedProcess:
    """``fedring predict`` in a fresh interpreter that reports whether Prefect was imported."""
    code = ("import sys\nfrom fedring.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n"
            "    code = e.code or 0\nelse:\n    code = 0\n"
            "sys.stderr.write('PREFECT_LOADED=%s\\n' % ('prefect' in sys.modules))\nsys.exit(code)")
    return subprocess.run([sys.executable, "-c", code, "predict", "--storage-root", str(root), "-m", "mnist",
                           "-k", str(lab), *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=300)


def test_predict_reports_each_input_and_never_loads_prefect(cli) -> None:
    trained, lab, root, inputs, test = cli

    done = predict(root, lab, "--json", inputs / "ten.npy", inputs / "empty.png", inputs / "seven.jpg",
                   inputs / "corrupt.png")

    assert done.returncode == 0, done.stderr
    assert "PREFECT_LOADED=False" in done.stderr
    rows = json.loads(done.stdout)["predictions"]
    assert [r["input"].rsplit("/", 1)[-1] for r in rows] == [
        *(f"ten.npy[{i}]" for i in range(10)), "empty.png", "seven.jpg", "corrupt.png"]
    assert rows[10]["error"] == "empty file" and "corrupt" in rows[12]["error"]
    assert all(0 <= r["digit"] <= 9 and 0 < r["probability"] <= 1 for r in rows if "digit" in r)
    assert sum(r["digit"] == y for r, y in zip(rows[:10], test.labels[:10])) >= 6


def test_predict_text_output_and_all_failed(cli) -> None:
    _, lab, root, inputs, _ = cli

    ok = predict(root, lab, inputs / "seven.jpg")
    failed = predict(root, lab, inputs / "empty.png", inputs / "corrupt.png")

    assert ok.returncode == 0 and ok.stdout.startswith(f"{inputs / 'seven.jpg'}: ")
    assert failed.returncode == EXIT_BAD_INPUT
    assert f"{inputs / 'empty.png'}: error: empty file" in failed.stderr


def test_predict_refused_without_the_attribute(cli) -> None:
    trained, _, root, inputs, _ = cli

    done = predict(root, trained.keys("account-3") / "ring", inputs / "seven.jpg")

    assert done.returncode == EXIT_POLICY
    assert ATTR in done.stderr


def test_list_show_verify(cli, capsys) -> None:
    _, _, root, _, _ = cli

    assert run_cli("models", "list", "--storage-root", root, "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert run_cli("models", "show", "mnist:1", "--storage-root", root) == 0
    card = json.loads(capsys.readouterr().out)
    assert run_cli("models", "verify", "--storage-root", root) == 0

    assert [(r["model"], r["version"], r["policy"]) for r in rows] == [("mnist", 1, ATTR)]
    assert card["workload"]["name"] == "mnist" and card["recipients"] == [[f"{ATTR}@1"], ["host:self@1"]]
    assert "mnist:1: ok" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["list", "--json"], ["show", "mnist:1"], ["verify"]])
def test_reading_the_registry_never_imports_torch(cli, args) -> None:
    """list, show and verify read cards, signatures and envelope headers: no model is built."""
    _, _, root, _, _ = cli
    code = ("import sys\nfrom fedring.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n"
            "    code = e.code or 0\nelse:\n    code = 0\n"
            "sys.stderr.write('LOADED=%s\\n' % sorted(m for m in ('torch', 'torchvision', 'prefect') if m in sys.modules))\n"
            "sys.exit(code)")

    done = subprocess.run([sys.executable, "-c", code, "models", *args, "--storage-root", str(root)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stderr
    assert "LOADED=[]" in done.stderr
    assert "mnist" in done.stdout


def test_revoke_reports_and_verify_fails_on_tampering(cli, capsys) -> None:
    trained, lab, root, inputs, _ = cli

    code = run_cli("models", "revoke", ATTR, "--storage-root", root, "--json")
    report = json.loads(capsys.readouterr().out)
    refused = predict(root, lab, inputs / "seven.jpg")
    card = root / "fedring-host" / "registry" / "mnist" / "000001" / "card.json"
    card.write_bytes(card.read_bytes().replace(b'"accounts":3', b'"accounts":4'))

    assert code == 0 and report["epoch"] == 2
    assert [r["generation"] for r in report["rewrapped"]] == [2]
    assert report["deleted"] == ["registry/mnist/000001/model/000001"]
    assert refused.returncode == EXIT_POLICY and "revoked" in refused.stderr
    assert run_cli("models", "verify", "--storage-root", root) == EXIT_INTEGRITY


def test_bad_model_reference(cli) -> None:
    _, _, root, _, _ = cli

    assert run_cli("models", "show", "mnist:x", "--storage-root", root) == EXIT_BAD_INPUT


def test_importing_the_registry_commands_does_not_load_prefect() -> None:
    from tests.registry.helpers import python

    done = python("import fedring.cli.models, fedring.registry, sys; assert 'prefect' not in sys.modules")

    assert done.returncode == 0, done.stderr
