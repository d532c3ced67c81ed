"""The train step: an account trains a copy of the global model on its own partition.

Shared by the secure round (``contribute``) and the plaintext baseline (``plain``). The
training seed is a function of (seed, account, round), so a rerun trains the same way.
"""

from __future__ import annotations

import hashlib

import numpy as np

from fedring.config import TrainingConfig
from fedring.ml.model import build_model
from fedring.ml.partition_io import load_partition
from fedring.ml.train import TrainResult, train
from fedring.ml.weights import load_vector, to_vector
from fedring.storage import Store


def round_seed(seed: int, account: str, rnd: int) -> int:
    """A per-(account, round) training seed, stable across processes and reruns."""
    digest = hashlib.sha256(f"{seed}/{account}/{rnd}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def train_on_partition(
    store: Store, global_vector: np.ndarray, *, training: TrainingConfig, seed: int, rnd: int
) -> tuple[np.ndarray, TrainResult]:
    """Train a copy of the global model on this account's data; return the new vector."""
    data = load_partition(store)
    model = load_vector(build_model(), global_vector)
    result = train(
        model,
        data.images,
        data.labels,
        epochs=training.local_epochs,
        batch_size=training.batch_size,
        learning_rate=training.learning_rate * training.lr_decay ** (rnd - 1),
        seed=round_seed(seed, store.account, rnd),
    )
    return to_vector(model), result
