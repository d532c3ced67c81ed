"""Client-side training on the account's own partition, starting from the global model."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from fedring.config import TrainingConfig
from fedring.layout import Stage, inbox, outbox
from fedring.ml.model import build_model
from fedring.ml.partition_io import load_partition
from fedring.ml.train import TrainResult, train
from fedring.ml.weights import from_bytes, load_vector, to_bytes, to_vector
from fedring.storage import Store

GLOBAL_MODEL = "global"


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


def plain_update_keys(run: str, rnd: int) -> tuple[str, str]:
    return outbox(run, rnd, Stage.UPDATE, "model"), outbox(run, rnd, Stage.UPDATE, "meta.json")


def plain_contribute(store: Store, *, run: str, rnd: int, training: TrainingConfig, seed: int) -> dict:
    """Plaintext baseline: train and publish the whole updated model in ``outbox/``.

    Idempotent: if this round's update is already published, its metadata is returned.
    """
    model_key, meta_key = plain_update_keys(run, rnd)
    if store.exists(meta_key):
        return json.loads(store.get(meta_key))
    global_vector = from_bytes(store.get(inbox(run, rnd, GLOBAL_MODEL, "model")))
    vector, result = train_on_partition(store, global_vector, training=training, seed=seed, rnd=rnd)
    store.put(model_key, to_bytes(vector))
    meta = {"samples": result.samples, "loss": result.loss, "train_seconds": result.seconds, "bytes_sent": 4 * vector.size}
    store.put(meta_key, json.dumps(meta).encode())
    return meta
