"""An account's store holding a few rows of arrays, as the tiny user workload reads them."""

from __future__ import annotations

import numpy as np
import pytest

from fedring.storage import LocalStore
from tests.data.helpers import npy_bytes


def tiny_store(root, account: str, rows: int = 12, seed: int = 0) -> LocalStore:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 2))
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    store = LocalStore(root, f"bucket-{account}", account=account)
    for split, part in (("train", slice(0, rows - 4)), ("eval", slice(rows - 4, rows))):
        store.put(f"data/{split}/features.npy", npy_bytes(x[part]))
        store.put(f"data/{split}/labels.npy", npy_bytes(y[part]))
    return store


@pytest.fixture
def store(tmp_path):
    return tiny_store(tmp_path, "alpha")
