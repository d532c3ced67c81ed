"""An account's private partition in its own bucket: ``data/partition.npz`` + ``data/manifest.json``."""

from __future__ import annotations

import io
import json

import numpy as np

from fedring.layout import PARTITION, PARTITION_MANIFEST
from fedring.ml.data import Dataset
from fedring.ml.partition import label_histogram
from fedring.storage import Store


def save_partition(store: Store, data: Dataset, *, scheme: str, seed: int, source: str) -> dict:
    """Write the partition (uint8 images, labels) and its manifest (counts, label histogram)."""
    buf = io.BytesIO()
    np.savez(buf, images=data.images, labels=data.labels)
    digest = store.put(PARTITION, buf.getvalue())
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


def load_partition(store: Store) -> Dataset:
    with np.load(io.BytesIO(store.get(PARTITION))) as npz:
        return Dataset(npz["images"], npz["labels"])


def partition_manifest(store: Store) -> dict:
    return json.loads(store.get(PARTITION_MANIFEST))
