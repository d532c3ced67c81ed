"""Hermetic settings for every test: a throwaway Prefect home, no API, quiet logs.

They are set before anything imports Prefect, so no test touches a user's profile or
a real server. Flow tests share one Prefect test harness per session.
"""

from __future__ import annotations

import os
import tempfile

from fedring.cli.prefect_env import SERVER_SETTINGS, apply_server_settings

_PREFECT_HOME = tempfile.mkdtemp(prefix="fedring-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
for var in ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE"):
    os.environ.pop(var, None)
for var in SERVER_SETTINGS:
    os.environ.pop(var, None)
apply_server_settings()
os.environ.setdefault("FEDRING_CACHE", os.path.join(tempfile.gettempdir(), "fedring-test-cache"))
# Client stages run in the test process unless a test says otherwise: many tests patch
# fedring's functions, which worker processes would not see. tests/flows/test_parallel.py
# runs them in worker processes.
os.environ.setdefault("FEDRING_WORKERS", "0")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server for the session (about 15 s to start here)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST (train, test), loaded once per session."""
    from fedring.ml.data import load_mnist

    return load_mnist()
