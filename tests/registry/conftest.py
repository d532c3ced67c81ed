"""One committed run per test module (built without Prefect: ``helpers.committed_run``)."""

from __future__ import annotations

import pytest

from tests.registry.helpers import Run, committed_run


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mnist) -> Run:
    train_set, test_set = mnist
    return committed_run(tmp_path_factory.mktemp("registry"), train_set, test_set)
