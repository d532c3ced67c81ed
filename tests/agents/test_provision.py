"""Provisioning by organisation: one account's steps, the document it sends, placeholders refused.

Through the real command line (subprocesses). The S3 side, with each organisation's own
credentials only, runs in tests/agents/test_organisations.py.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from fedring.config import load_config
from fedring.errors import ConfigError
from fedring.provision import exchange_document, plan

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "federation-s3.yaml"
FEDRING = Path(sys.executable).parent / "fedring"


def _fedring(*args: str, keys: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FEDRING_", "AWS_"))}
    return subprocess.run([FEDRING, *args], capture_output=True, text=True, timeout=120, cwd=keys.parent,
                          env={**clean, "FEDRING_KEYS": str(keys), **env})


def _with_ids(tmp_path: Path) -> Path:
    text = EXAMPLE.read_text()
    for i in (1, 2, 3):
        text = text.replace(f"change-me-account-{i}", f"3f9c{i}e0b2a7d41c58e6")
    path = tmp_path / "federation-s3.yaml"
    path.write_text(text)
    return path


def test_one_account_plans_only_its_own_steps(tmp_path):
    cfg = load_config(_with_ids(tmp_path))
    mine = plan(cfg, "account-2")
    assert {s.account for s in mine} == {"account-2"}
    assert [s.action for s in mine] == ["create-bucket", "bucket-lifecycle", "create-role", "role-policy", "bucket-policy"]
    assert [s.action for s in plan(cfg, "host")] == ["create-bucket", "bucket-lifecycle"]
    assert len(plan(cfg)) == 2 + 3 * 5
    with pytest.raises(ConfigError, match="unknown account 'account-9'"):
        plan(cfg, "account-9")


def test_the_exchange_document_holds_what_the_others_need_and_no_secret(tmp_path):
    cfg = load_config(_with_ids(tmp_path))
    assert exchange_document(cfg, "account-1", "ed25519:" + "ab" * 32) == {
        "account": "account-1", "account_id": "222222222222", "bucket": "fedring-account-1-222222222222",
        "region": "us-east-1", "role": "client", "role_arn": "arn:aws:iam::222222222222:role/fedring-host-access",
        "external_id": "3f9c1e0b2a7d41c58e6", "identity": "ed25519:" + "ab" * 32,
    }
    host = exchange_document(cfg, "host", None)
    assert host["role"] == "host" and host["principal_arn"] == "arn:aws:iam::111111111111:role/fedring-host"


def test_a_placeholder_external_id_is_refused_before_anything_is_called(tmp_path):
    done = _fedring("provision", "--config", str(EXAMPLE), "--account", "account-1", keys=tmp_path / "keys")
    assert done.returncode == 2
    line = done.stderr.strip()
    assert "\n" not in line and line.startswith(f"error: {EXAMPLE}: accounts.0.external_id: 'change-me-account-1' "
                                                  "is the template's placeholder: agree a secret with the account's owner")
    assert done.stdout == ""
    assert not (tmp_path / "keys").exists()  # refused before creating anything


def test_dry_run_of_one_account_prints_its_policies_and_the_json_to_send(tmp_path):
    path = _with_ids(tmp_path)
    done = _fedring("provision", "--config", str(path), "--account", "account-3", "--dry-run", keys=tmp_path / "keys")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)  # stdout is the document alone
    assert doc["role_arn"] == "arn:aws:iam::444444444444:role/fedring-host-access"
    assert doc["external_id"] == "3f9c3e0b2a7d41c58e6" and doc["identity"] is None  # a dry run creates no key
    assert "[account-3] create-role fedring-host-access" in done.stderr
    assert "[account-1]" not in done.stderr and "[host]" not in done.stderr
    assert "dry run: nothing changed" in done.stderr


def test_identity_show_prints_a_stable_pin_and_keeps_the_key_private(tmp_path):
    path = _with_ids(tmp_path)
    first = _fedring("identity", "show", "--config", str(path), "--account", "account-2", keys=tmp_path / "keys")
    again = _fedring("identity", "show", "--config", str(path), "--account", "account-2", keys=tmp_path / "keys")
    assert first.returncode == 0, first.stderr
    pin = first.stdout.strip()
    assert pin.startswith("ed25519:") and len(pin) == len("ed25519:") + 64
    assert again.stdout.strip() == pin
    key = tmp_path / "keys" / "account-2" / "identity.json"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    unknown = _fedring("identity", "show", "--config", str(path), "--account", "nobody", keys=tmp_path / "keys")
    assert unknown.returncode == 2 and "unknown account 'nobody'" in unknown.stderr


def test_run_with_agents_needs_every_pin_before_anything_starts(tmp_path):
    path = _with_ids(tmp_path)
    done = _fedring("run", "--config", str(path), "--agents", keys=tmp_path / "keys")
    assert done.returncode == 2
    assert done.stderr.strip().startswith(
        "error: host.identity: account 'host' has no pinned identity key and this machine does not hold its keys")
    assert not (tmp_path / "keys").exists() and not (tmp_path / "runs").exists()
