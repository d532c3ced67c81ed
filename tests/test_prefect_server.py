"""The Prefect server a command starts: none when the user names one; a clear error when it cannot start.

That it dies with a SIGKILLed, SIGTERMed or interrupted command is shown end to end in
``tests/crash/test_processes.py``.
"""

from __future__ import annotations

import pytest

from fedring.cli.prefect_env import PrefectServerError, prefect_server


def test_a_server_the_user_names_is_used_and_none_is_started():
    env = {"PREFECT_API_URL": "http://127.0.0.1:4200/api"}
    with prefect_server(env) as address:
        assert address is None
        assert env["PREFECT_API_URL"] == "http://127.0.0.1:4200/api"
    assert env["PREFECT_API_URL"] == "http://127.0.0.1:4200/api"  # left as the user set it


def test_a_server_that_cannot_start_is_reported_with_its_output(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "PREFECT_HOME": str(tmp_path),
        "PREFECT_API_DATABASE_CONNECTION_URL": "not-a-database://",
    }
    with pytest.raises(PrefectServerError, match="exited with code") as failure:
        with prefect_server(env):
            pass
    assert "Could not parse SQLAlchemy URL" in str(failure.value)  # the server's own last words
    assert "PREFECT_API_URL" not in env
