"""Session fixtures of the crash harness: one shared Prefect server, and the uninterrupted runs."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.crash.harness import Reference, local_place, reference_run


@pytest.fixture(scope="session")
def server_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment of every harness run: one Prefect server for all (each CLI would start its own)."""
    from fedring.cli.prefect_env import prefect_server

    env = dict(os.environ, PREFECT_HOME=str(tmp_path_factory.mktemp("crash-prefect-home")))
    with prefect_server(env):
        yield env


@pytest.fixture(scope="session")
def secure_reference(tmp_path_factory: pytest.TempPathFactory, server_env: dict[str, str]) -> Reference:
    return reference_run(local_place(tmp_path_factory.mktemp("secure-reference")), server_env)


@pytest.fixture(scope="session")
def plain_reference(tmp_path_factory: pytest.TempPathFactory, server_env: dict[str, str]) -> Reference:
    return reference_run(local_place(tmp_path_factory.mktemp("plain-reference"), secure=False), server_env)
