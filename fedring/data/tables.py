"""CSV and Parquet tables with a named label column, read with pandas (Parquet through pyarrow)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from fedring.data.examples import Examples, check_features, to_labels
from fedring.errors import DataError
from fedring.storage import Store


@dataclass(frozen=True)
class TableSchema:
    """How a workload reads a table: the label column, the feature columns (None: all others)."""

    label: str
    features: tuple[str, ...] | None = None


def read_table(store: Store, key: str, fmt: str, schema: TableSchema, classes: tuple[str, ...] | None) -> Examples:
    """One table object as float64 features and int64 labels; bad input is a ``DataError``."""
    import pandas as pd

    where = store.where(key)
    raw = store.get(key)
    try:
        frame = pd.read_parquet(io.BytesIO(raw)) if fmt == "parquet" else pd.read_csv(io.BytesIO(raw))
    except Exception as exc:  # pandas/pyarrow raise many types for unreadable bytes
        raise DataError(f"{where}: cannot be read as {fmt.upper()} ({type(exc).__name__}: {exc})") from exc
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    if schema.label not in columns:
        raise DataError(f"{where}: no label column {schema.label!r} (columns: {', '.join(columns) or 'none'})")
    if frame.empty:
        raise DataError(f"{where}: the table has no rows")
    names = list(schema.features) if schema.features is not None else [c for c in columns if c != schema.label]
    missing = [c for c in names if c not in columns]
    if missing:
        raise DataError(f"{where}: missing feature column(s) {', '.join(map(repr, missing))}")
    if not names:
        raise DataError(f"{where}: the table has a label column and no feature columns")
    for name in names:
        column = frame[name]
        if not pd.api.types.is_numeric_dtype(column):
            numbers = pd.to_numeric(column, errors="coerce")
            row = int(np.flatnonzero(numbers.isna() & column.notna())[0]) if column.notna().any() else 0
            raise DataError(f"{where}: feature column {name!r} is not numeric (row {row + 1} holds {column.iloc[row]!r})")
        nans = np.flatnonzero(~np.isfinite(column.to_numpy(dtype=np.float64)))
        if nans.size:
            raise DataError(
                f"{where}: feature column {name!r} has {nans.size} missing, NaN or infinite value(s) "
                f"(first: row {nans[0] + 1})"
            )
    features = check_features(frame[names].to_numpy(dtype=np.float64), where)
    label_column = frame[schema.label]
    if label_column.isna().any():
        row = int(np.flatnonzero(label_column.isna())[0])
        raise DataError(f"{where}: label column {schema.label!r} is empty in row {row + 1}")
    return Examples(features, to_labels(label_column.to_numpy(), where, classes), key)
