"""An account's private partition in its own bucket: ``data/images.npy``, ``data/labels.npy``, ``data/manifest.json``,
and its eval split ``data/eval/features.npy``, ``data/eval/labels.npy`` (the demo's simulation step).

Plain ``.npy`` bytes are a pure function of the arrays, so writing a partition again
after a crash puts the same bytes (a no-op on an immutable store) instead of clashing.
"""

from __future__ import annotations

import io
import json

import numpy as np

from fedring.layout import DATA_PREFIX, PARTITION_IMAGES, PARTITION_LABELS, PARTITION_MANIFEST, data_array
from fedring.ml.data import Dataset
from fedring.ml.partition import label_histogram
from fedring.storage import Store


def save_partition(store: Store, data: Dataset, *, scheme: str, seed: int, source: str) -> dict:
    """Write the partition (uint8 images, labels) and its manifest (counts, label histogram)."""
    digest = store.put(PARTITION_IMAGES, _npy(data.images))
    store.put(PARTITION_LABELS, _npy(data.labels))
    manifest = {
        "samples": len(data),
        "label_histogram": label_histogram(data.labels),
        "scheme": scheme,
        "seed": seed,
        "source": source,
        "sha256": digest,
    }
    store.put(PARTITION_MANIFEST, json.dumps(manifest, indent=2).encode())
    return manifest


def save_eval_split(store: Store, data: Dataset) -> None:
    """Write an account's eval split as arrays (``data/eval/features.npy``, ``labels.npy``)."""
    store.put(data_array(DATA_PREFIX, "eval", "features"), _npy(data.images))
    store.put(data_array(DATA_PREFIX, "eval", "labels"), _npy(data.labels.astype(np.int64)))


def load_partition(store: Store) -> Dataset:
    images = np.load(io.BytesIO(store.get(PARTITION_IMAGES)), allow_pickle=False)
    labels = np.load(io.BytesIO(store.get(PARTITION_LABELS)), allow_pickle=False)
    return Dataset(images, labels)


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def partition_manifest(store: Store) -> dict:
    return json.loads(store.get(PARTITION_MANIFEST))
