"""The federation file: defaults, S3 validation with errors that name the option, templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedring.config import build_config, load_config
from fedring.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def s3(**overrides: object) -> dict:
    base = {
        "host": {"name": "host", "account_id": "111111111111"},
        "accounts": [{"name": "a", "account_id": "222222222222", "external_id": "x"}],
        "storage": {"kind": "s3"},
    }
    base.update(overrides)
    return base


def cli(*args: str) -> int:
    """Run ``fedring ARGS``; its exit code (0 when main returns)."""
    from fedring.cli import main

    try:
        main(list(args))
    except SystemExit as done:
        return int(done.code or 0)
    return 0


def test_defaults_run_the_embedded_demo() -> None:
    cfg = build_config()
    assert cfg.storage.kind == "local"
    assert [a.name for a in cfg.accounts] == ["account-1", "account-2", "account-3"]
    assert cfg.host.bucket_name == "fedring-host"


def test_s3_derives_role_and_principal_from_account_ids() -> None:
    cfg = build_config(**s3())
    assert cfg.accounts[0].host_role_arn(cfg.storage.host_role_name) == "arn:aws:iam::222222222222:role/fedring-host-access"
    assert cfg.host.principal == "arn:aws:iam::111111111111:root"
    assert cfg.account("a").env_prefix == "FEDRING_A_"
    assert build_config(**s3(host={"name": "host", "principal_arn": "arn:aws:iam::1:user/h"})).host.principal.endswith("user/h")


@pytest.mark.parametrize(
    ("overrides", "option"),
    [
        ({"accounts": [{"name": "a", "external_id": "x"}]}, "accounts.0.role_arn"),
        ({"accounts": [{"name": "a", "account_id": "222222222222"}]}, "accounts.0.external_id"),
        ({"host": {"name": "host"}}, "host.principal_arn"),
        ({"accounts": [{"name": "a", "account_id": "12ab"}]}, "accounts.0.account_id"),
        ({"accounts": [{"name": "a", "account_id": "222222222222", "external_id": "x", "bucket": "fedring-host"}]}, "bucket names"),
        ({"storage": {"kind": "s3", "session_seconds": 60}}, "storage.session_seconds"),
        ({"storage": {"kind": "gcs"}}, "storage.kind"),
        ({"storage": {"kind": "s3", "endpoint": "x"}}, "storage.endpoint"),
    ],
)
def test_bad_s3_settings_name_the_option(overrides: dict, option: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_config(**s3(**overrides))
    assert option in str(err.value)
    assert "Value error" not in str(err.value)


def test_external_id_may_be_waived_for_servers_that_cannot_check_it() -> None:
    cfg = build_config(**s3(accounts=[{"name": "a", "account_id": "222222222222"}], storage={"kind": "s3", "trust_external_id": False}))
    assert cfg.accounts[0].external_id is None


def test_unknown_account_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown account 'zed'"):
        build_config().account("zed")


def test_load_config_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "f.yaml"
    bad.write_text("training: {rounds: 0}\n")
    with pytest.raises(ConfigError, match=r"f\.yaml: training\.rounds"):
        load_config(bad)
    with pytest.raises(ConfigError, match="fedring init"):
        load_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize("s3_flag", [False, True])
def test_init_writes_a_valid_commented_file(tmp_path: Path, s3_flag: bool) -> None:
    out = tmp_path / "federation.yaml"
    assert cli("init", "-o", str(out), *(["--s3"] if s3_flag else [])) == 0
    text = out.read_text()
    assert text.startswith("# fedring federation file")
    cfg = load_config(out)
    assert cfg.storage.kind == ("s3" if s3_flag else "local")
    example = ROOT / "examples" / ("federation-s3.yaml" if s3_flag else "federation.yaml")
    assert example.read_text() == text  # the committed examples are what `fedring init` writes


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "federation.yaml"
    out.write_text("mine")
    assert cli("init", "-o", str(out)) == 2 and out.read_text() == "mine"


def test_provision_dry_run_prints_the_policies(tmp_path: Path, capsys) -> None:
    assert cli("provision", "--config", str(ROOT / "examples" / "federation-s3.yaml"), "--dry-run") == 0
    out = capsys.readouterr().out
    assert "[account-1] create-role fedring-host-access" in out
    assert '"sts:ExternalId": "change-me-account-1"' in out
    assert "arn:aws:s3:::fedring-account-1-222222222222/outbox/*" in out
    assert "dry run: nothing changed" in out


def test_policies_grant_the_host_only_outbox_public_reads_and_inbox_writes() -> None:
    from fedring.provision import host_access_policy, trust_policy

    doc = host_access_policy("b")
    grants = {(a, r) for s in doc["Statement"] for a in s["Action"] for r in s["Resource"]}
    assert grants == {
        ("s3:GetObject", "arn:aws:s3:::b/outbox/*"),
        ("s3:GetObject", "arn:aws:s3:::b/public/*"),
        ("s3:PutObject", "arn:aws:s3:::b/inbox/*"),
        ("s3:AbortMultipartUpload", "arn:aws:s3:::b/inbox/*"),
        ("s3:PutObjectAcl", "arn:aws:s3:::b/inbox/*"),
        ("s3:ListBucket", "arn:aws:s3:::b"),
    }
    trust = trust_policy("arn:aws:iam::1:role/h", "e")["Statement"]
    assert [s["Principal"] for s in trust] == [{"AWS": ["arn:aws:iam::1:role/h"]}]
