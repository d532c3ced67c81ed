"""``.npy`` arrays: ``<split>/features.npy`` (one row per example) and ``<split>/labels.npy``."""

from __future__ import annotations

import io

import numpy as np

from fedring.data.examples import Examples, check_features, to_labels
from fedring.errors import DataError
from fedring.storage import Store


def read_npy(store: Store, key: str) -> np.ndarray:
    """One ``.npy`` object (never pickled objects), or a ``DataError`` naming it."""
    try:
        return np.load(io.BytesIO(store.get(key)), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{store.where(key)}: cannot be read as a .npy array ({exc})") from exc


def read_arrays(
    store: Store, features_key: str, labels_key: str, classes: tuple[str, ...] | None
) -> Examples:
    """Features and labels from two ``.npy`` objects of the same length."""
    features = read_npy(store, features_key)
    labels = read_npy(store, labels_key)
    if features.ndim < 1 or len(features) == 0:
        raise DataError(f"{store.where(features_key)}: holds no examples (shape {features.shape})")
    if labels.ndim != 1 or len(labels) != len(features):
        raise DataError(
            f"{store.where(labels_key)}: expected {len(features)} labels in one dimension to match "
            f"{features_key}, got shape {labels.shape}"
        )
    check_features(features, store.where(features_key))
    return Examples(features, to_labels(labels, store.where(labels_key), classes), features_key)
