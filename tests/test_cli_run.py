"""Bad input to `fedring demo` fails fast with exit code 2, a clear message, and no run left behind."""

from __future__ import annotations

import pytest

from fedring.cli import main


@pytest.mark.parametrize(
    "args,message",
    [
        (["--partition", "zipf"], "partition.scheme: Input should be 'iid', 'dirichlet' or 'shards'"),
        (["--partition", "dirichlet", "--alpha", "0"], "partition.alpha"),
        (["--accounts", "6", "--limit", "5"], "6 accounts but only 5 images"),
        (["--rounds", "0"], "training.rounds"),
        (["--data-dir", "/nonexistent/mnist"], "--data-dir=/nonexistent/mnist does not hold the MNIST files"),
    ],
)
def test_bad_demo_input_exits_2_and_writes_nothing(tmp_path, capsys, args, message):
    run_dir = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--run-dir", str(run_dir), *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err.replace("\n", "")
    assert not run_dir.exists()


def test_missing_data_env_var_is_named(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FEDRING_DATA", str(tmp_path / "empty"))
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--run-dir", str(tmp_path / "run")])
    assert exit_info.value.code == 2
    assert "FEDRING_DATA=" in capsys.readouterr().err
