"""The envelope commands, end to end through ``fedring.cli.main``, with their exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fedring.cli import EXIT_BAD_INPUT, EXIT_INTEGRITY, EXIT_POLICY, EXIT_UNKNOWN_KEY, main


def run(*args: str | Path) -> int:
    try:
        main([str(a) for a in args])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def accounts(tmp_path: Path) -> Path:
    """Two accounts, acme and beta; acme issues acme:eval to beta."""
    for name in ("acme", "beta"):
        assert run("authority", "create", name, "--dir", tmp_path / name) == 0
    assert run("authority", "issue", "eval", "-a", tmp_path / "acme", "--to",
               tmp_path / "beta" / "keys") == 0
    (tmp_path / "plain").write_bytes(b"model bytes " * 1000)
    return tmp_path


def test_seal_open_round_trip(accounts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = accounts
    pub = ["-p", t / "acme" / "public.json", "-p", t / "beta" / "public.json"]

    code = run("seal", "--policy", "acme:self or acme:eval", *pub, "--context", "run=r1", "--context", "round=2",
               t / "plain", t / "sealed")
    opened_by_beta = run("open", "--keys", t / "beta" / "keys", "--context", "run=r1", "--context", "round=2",
                         t / "sealed", t / "out")
    capsys.readouterr()
    shown = run("header", t / "sealed")

    assert (code, opened_by_beta, shown) == (0, 0, 0)
    assert (t / "out").read_bytes() == (t / "plain").read_bytes()
    header = json.loads(capsys.readouterr().out)
    assert header["context"] == {"run": "r1", "round": 2}
    assert header["policy"] == "acme:self or acme:eval"


def test_exit_codes(accounts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = accounts
    pub = ["-p", t / "acme" / "public.json", "-p", t / "beta" / "public.json"]
    run("seal", "--policy", "acme:self", *pub, "--context", "run=r1", t / "plain", t / "sealed")
    tampered = bytearray((t / "sealed").read_bytes())
    tampered[-1] ^= 1
    (t / "tampered").write_bytes(bytes(tampered))

    policy = run("open", "-k", t / "beta" / "keys", "--context", "run=r1", t / "sealed", t / "o1")
    integrity = run("open", "-k", t / "acme" / "keys", "--context", "run=r1", t / "tampered", t / "o2")
    context = run("open", "-k", t / "acme" / "keys", "--context", "run=r2", t / "sealed", t / "o3")
    unknown = run("seal", "--policy", "gamma:self", *pub, t / "plain", t / "s2")
    syntax = run("seal", "--policy", "acme:self and", *pub, t / "plain", t / "s3")
    missing = run("open", "-k", t / "nowhere", t / "sealed", t / "o4")
    bad_context = run("seal", "--policy", "acme:self", *pub, "--context", "run", t / "plain", t / "s4")
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines

    assert policy == EXIT_POLICY
    assert integrity == EXIT_INTEGRITY and context == EXIT_INTEGRITY
    assert unknown == EXIT_UNKNOWN_KEY
    assert syntax == EXIT_BAD_INPUT and missing == EXIT_BAD_INPUT and bad_context == EXIT_BAD_INPUT
    assert "missing attribute(s) acme:self" in err
    assert "envelope failed authentication" in err
    assert "at position 13" in err
    assert not any((t / name).exists() for name in ("o1", "o2", "o3", "s2", "s3"))
    assert not [p for p in t.iterdir() if p.name.startswith(".")]  # temporary files removed


def test_rotate_then_rewrap(accounts: Path) -> None:
    t = accounts
    pub_before = json.loads((t / "acme" / "public.json").read_text())
    run("seal", "--policy", "acme:eval", "-p", t / "acme" / "public.json", t / "plain", t / "old")

    rotated = run("authority", "rotate", "eval", "-a", t / "acme")
    exported = run("authority", "export", "-a", t / "acme", "-o", t / "acme-public.json")
    run("authority", "issue", "eval", "-a", t / "acme", "--to", t / "beta" / "keys")
    rewrapped = run("rewrap", "-k", t / "beta" / "keys", "-p", t / "acme-public.json",
                    t / "old", t / "new")
    opened = run("open", "-k", t / "beta" / "keys", t / "new", t / "out")

    assert (rotated, exported, rewrapped, opened) == (0, 0, 0, 0)
    assert json.loads((t / "acme-public.json").read_text())["attributes"]["acme:eval"]["epoch"] == 2
    assert pub_before["attributes"]["acme:eval"]["epoch"] == 1
    assert (t / "out").read_bytes() == (t / "plain").read_bytes()


def test_create_twice_is_refused(accounts: Path) -> None:
    assert run("authority", "create", "acme", "--dir", accounts / "acme") == EXIT_BAD_INPUT


def test_issue_json_names_the_key(accounts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = accounts
    capsys.readouterr()

    code = run("authority", "issue", "auditor", "-a", t / "acme", "--to", t / "beta" / "keys", "--json")
    issued = json.loads(capsys.readouterr().out)

    assert code == 0
    assert issued == {"attribute": "acme:auditor", "epoch": 1, "key_id": issued["key_id"],
                      "key_ring": str(t / "beta" / "keys")}
    public = json.loads((t / "acme" / "public.json").read_text())
    assert public["attributes"]["acme:auditor"]["key_id"] == issued["key_id"]


def test_export_to_stdout_by_default(accounts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()

    assert run("authority", "export", "-a", accounts / "acme") == 0
    assert json.loads(capsys.readouterr().out) == json.loads((accounts / "acme" / "public.json").read_text())
