"""The federation file: defaults, S3 validation with errors that name the option, templates."""

from __future__ import annotations

import json
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


def filled_in(template: str) -> str:
    """The S3 template with its placeholder external ids replaced, as a user must."""
    return template.replace("change-me-account-", "3f9c2a71e4b8d605-")


@pytest.mark.parametrize("s3_flag", [False, True])
def test_init_writes_a_valid_commented_file(tmp_path: Path, s3_flag: bool) -> None:
    out = tmp_path / "federation.yaml"
    assert cli("init", "-o", str(out), *(["--s3"] if s3_flag else [])) == 0
    text = out.read_text()
    assert text.startswith("# fedring federation file")
    if s3_flag:
        with pytest.raises(ConfigError, match="accounts.0.external_id: 'change-me-account-1' is the template's placeholder"):
            load_config(out)
        out.write_text(filled_in(text))
    cfg = load_config(out)
    assert cfg.storage.kind == ("s3" if s3_flag else "local")
    example = ROOT / "examples" / ("federation-s3.yaml" if s3_flag else "federation.yaml")
    assert example.read_text() == text  # the committed examples are what `fedring init` writes


def test_init_to_stdout(capsys) -> None:
    assert cli("init", "-o", "-") == 0
    assert capsys.readouterr().out == (ROOT / "examples" / "federation.yaml").read_text()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty; `fedring init` writes"),
        (b"# only a comment\n", "is empty"),
        (b"\xff\xfe\x00r\x00u\x00n", "not UTF-8 text"),
        (b"- run: demo\n", "expected a mapping of settings"),
        (b"run: [unclosed\n", "not valid YAML"),
        (b"partition: {limit: -5}\n", "partition.limit: Input should be greater than or equal to 1"),
        (b"partition: {limit: 0}\n", "partition.limit"),
        (b"partition: {classes_per_account: 0}\n", "partition.classes_per_account"),
        (b"training: {eval_limit: 0}\n", "training.eval_limit"),
        (b"training: {batch_size: 0}\n", "training.batch_size"),
        (b"seed: -1\n", "seed: Input should be greater than or equal to 0"),
        (b"secagg: {threshold: 0}\n", "secagg.threshold"),
        (b"secagg: {degree: 0}\n", "secagg.degree"),
        (b"run: ../x\n", "run id '../x' must be"),
    ],
)
def test_bad_federation_files_are_refused_naming_the_problem(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "f.yaml"
    path.write_bytes(content)

    with pytest.raises(ConfigError) as err:
        load_config(path)

    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_directory_is_not_a_federation_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


def test_with_run_validates_the_run_id() -> None:
    from fedring.config import with_run

    assert with_run(build_config(), "other").run == "other"
    with pytest.raises(ConfigError, match="run id 'a/../../x' must be"):
        with_run(build_config(), "a/../../x")


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "federation.yaml"
    out.write_text("mine")
    assert cli("init", "-o", str(out)) == 2 and out.read_text() == "mine"


@pytest.fixture
def s3_file(tmp_path: Path) -> Path:
    path = tmp_path / "federation-s3.yaml"
    path.write_text(filled_in((ROOT / "examples" / "federation-s3.yaml").read_text()))
    return path


def test_provision_dry_run_prints_the_policies(s3_file: Path, capsys) -> None:
    assert cli("provision", "--config", str(s3_file), "--dry-run") == 0
    out = capsys.readouterr().out
    assert "[account-1] create-role fedring-host-access" in out
    assert '"sts:ExternalId": "3f9c2a71e4b8d605-1"' in out
    assert "arn:aws:s3:::fedring-account-1-222222222222/outbox/*" in out
    assert "dry run: nothing changed" in out


def test_provision_dry_run_json_is_pure_json(s3_file: Path, capsys) -> None:
    assert cli("provision", "--config", str(s3_file), "--dry-run", "--json") == 0
    captured = capsys.readouterr()
    steps = json.loads(captured.out)  # nothing but the JSON document on stdout
    assert "dry run: nothing changed" in captured.err
    assert steps[0] == {"account": "host", "action": "create-bucket", "target": "fedring-host-111111111111",
                        "document": None}
    role = next(s for s in steps if s["account"] == "account-1" and s["action"] == "create-role")
    assert role["document"]["Statement"][0]["Condition"] == {"StringEquals": {"sts:ExternalId": "3f9c2a71e4b8d605-1"}}


def test_provision_refuses_the_template_placeholders(capsys) -> None:
    assert cli("provision", "--config", str(ROOT / "examples" / "federation-s3.yaml"), "--dry-run") == 2
    assert "template's placeholder" in capsys.readouterr().err


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


def test_a_secure_federation_is_refused_beyond_what_the_model_envelope_can_hold() -> None:
    from fedring.policy import MAX_CLAUSES

    most = [{"name": f"a{i}"} for i in range(MAX_CLAUSES - 1)]
    assert len(build_config(accounts=most).accounts) == MAX_CLAUSES - 1  # the host and 1,023 participants: 1,024 clauses
    too_many = [*most, {"name": "one-more"}]
    with pytest.raises(ConfigError, match=f"at most {MAX_CLAUSES - 1} client accounts, {MAX_CLAUSES} given"):
        build_config(accounts=too_many)
    assert len(build_config(accounts=too_many, secagg={"secure": False}).accounts) == MAX_CLAUSES  # nothing is sealed


def test_demo_with_too_many_accounts_exits_2_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    import subprocess
    import sys

    fedring = Path(sys.executable).with_name("fedring")
    done = subprocess.run([str(fedring), "demo", "--accounts", "1024", "--run-dir", str(tmp_path / "demo")],
                          capture_output=True, text=True, timeout=120)

    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: accounts: a secure federation has at most 1023 client accounts, 1024 given: each round's model is "
        "sealed to the host and every participant, one envelope clause each, and an envelope holds at most 1024 clauses"
    ]
    assert not (tmp_path / "demo").exists()
