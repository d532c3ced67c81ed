"""Objects in each data format, written into a LocalStore as an owner would put them."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from PIL import Image

from fedring.data import Formats, ImageSchema, TableSchema

CLASSES = ("cat", "dog", "owl")
TABLE = Formats(classes=CLASSES, table=TableSchema("label", ("x1", "x2")))
IMAGES = Formats(classes=CLASSES, images=ImageSchema(mode="L", size=(6, 4)))
ARRAYS = Formats(classes=CLASSES, arrays=True)


def frame(rows: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(rows)
    return pd.DataFrame({"x1": rng.normal(size=rows), "note": ["n"] * rows, "x2": rng.integers(0, 9, rows),
                         "label": [i % 3 for i in range(rows)]})


def csv_bytes(table: pd.DataFrame) -> bytes:
    return table.to_csv(index=False).encode()


def parquet_bytes(table: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    table.to_parquet(buf, index=False)
    return buf.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def png_bytes(pixels: np.ndarray) -> bytes:
    """[H, W] grey or [H, W, 3] colour pixels as a PNG file."""
    buf = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()
