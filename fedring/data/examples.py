"""An account's examples in memory: features, integer labels, and where they came from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fedring.errors import DataError


@dataclass(frozen=True)
class Examples:
    """One split of an account's data.

    ``features`` is numeric with one row per example (uint8 images [N, H, W] or
    [N, H, W, 3], float64 tables [N, F], any numeric array); ``labels`` is int64 [N];
    ``source`` names the objects read ("data/train.csv") for messages and reports.
    """

    features: np.ndarray
    labels: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.labels)

    def label_histogram(self, classes: int = 0) -> list[int]:
        return np.bincount(self.labels, minlength=classes).astype(int).tolist()


@dataclass(frozen=True)
class AccountData:
    """What a workload's ``load_data`` returns: a training split and an optional evaluation split."""

    train: Examples
    evaluation: Examples | None = None


def to_labels(raw: np.ndarray, where: str, classes: tuple[str, ...] | None) -> np.ndarray:
    """Labels as int64 class indices, or a ``DataError`` naming ``where`` and the first bad value.

    Text labels are class names looked up in ``classes``; numbers must be whole, >= 0 and,
    when ``classes`` is known, below ``len(classes)``.
    """
    values = np.asarray(raw)
    if values.dtype.kind in "OUSTt":
        if classes is None:
            raise DataError(f"{where}: labels are text ({values[0]!r}), but the workload names no classes")
        index = {name: i for i, name in enumerate(classes)}
        unknown = [v for v in values.tolist() if str(v) not in index]
        if unknown:
            raise DataError(f"{where}: label {unknown[0]!r} is not one of the classes {', '.join(classes)}")
        return np.array([index[str(v)] for v in values.tolist()], dtype=np.int64)
    if values.dtype.kind not in "iufb":
        raise DataError(f"{where}: labels must be integers or class names, got {values.dtype}")
    as_float = values.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(as_float) | (as_float != np.round(as_float)) | (as_float < 0))
    if bad.size:
        raise DataError(f"{where}: label in row {bad[0] + 1} is {values[bad[0]]!r}; labels must be whole numbers >= 0")
    labels = as_float.astype(np.int64)
    if classes is not None and labels.size and labels.max() >= len(classes):
        row = int(np.argmax(labels >= len(classes)))
        raise DataError(f"{where}: label {labels[row]} in row {row + 1} is not below the {len(classes)} classes")
    return labels


def check_features(features: np.ndarray, where: str) -> np.ndarray:
    """Numeric features with no NaN or infinity, or a ``DataError`` naming ``where``."""
    if features.dtype.kind not in "iufb":
        raise DataError(f"{where}: features must be numeric, got {features.dtype}")
    if features.dtype.kind == "f":
        rows = np.flatnonzero(~np.isfinite(features.reshape(len(features), -1)).all(axis=1))
        if rows.size:
            raise DataError(f"{where}: {rows.size} example(s) hold NaN or infinite features (first: row {rows[0] + 1})")
    return features
