"""Find and read an account's data where it keeps it: its own bucket, under a data prefix.

Under a prefix P (``data/`` by default; always ``data/`` or below, which the host's role
never reads), each split (``train``, and optionally ``eval``) is exactly one of::

    P<split>.parquet                      a table (pyarrow)
    P<split>.csv                          a table (pandas)
    P<split>/features.npy + labels.npy    arrays
    P<split>/<class>/<image file>         a folder of images by class

A workload says which of these it reads and how (``Formats``). Two formats for one split,
a format the workload does not read, or no data at all is a ``DataError`` that names the
account, the bucket and the objects.
"""

from __future__ import annotations

from dataclasses import dataclass

from fedring.data.arrays import read_arrays
from fedring.data.examples import AccountData, Examples
from fedring.data.images import ImageSchema, read_image_folder
from fedring.data.tables import TableSchema, read_table
from fedring.errors import DataError
from fedring.layout import (
    DATA_PREFIX,
    TABLE_FORMATS,
    check_data_prefix,
    data_array,
    data_split_folder,
    data_table,
)
from fedring.storage import Store

ARRAY_NAMES = ("features", "labels")


@dataclass(frozen=True)
class Formats:
    """The formats a workload reads: tables (with their schema), images, arrays; its classes."""

    classes: tuple[str, ...] | None = None
    table: TableSchema | None = None
    images: ImageSchema | None = None
    arrays: bool = False

    def accepted(self) -> list[str]:
        return [name for name, on in (("tables", self.table), ("images", self.images), ("arrays", self.arrays)) if on]


def find_split(store: Store, prefix: str, split: str) -> tuple[str, list[str]] | None:
    """(format, keys) of one split under ``prefix``: ``parquet``, ``csv``, ``arrays`` or ``images``."""
    keys = store.list(f"{prefix}{split}")
    found: list[tuple[str, list[str]]] = [(f, [k]) for f in TABLE_FORMATS for k in keys if k == data_table(prefix, split, f)]
    folder = data_split_folder(prefix, split)
    inside = [k for k in keys if k.startswith(folder)]
    array_keys = [data_array(prefix, split, name) for name in ARRAY_NAMES]
    if any(k in inside for k in array_keys):
        found.append(("arrays", array_keys))
        inside = [k for k in inside if k not in array_keys]
    if inside:
        found.append(("images", inside))
    if len(found) > 1:
        held = ", ".join(f"{fmt} ({keys[0]})" for fmt, keys in found)
        raise DataError(
            f"account {store.account!r}, bucket {store.bucket!r}: split {split!r} is held in more than "
            f"one format under {prefix!r}: {held}; keep one"
        )
    return found[0] if found else None


def load_split(store: Store, prefix: str, split: str, formats: Formats, *, required: bool) -> Examples | None:
    """One split, read as ``formats`` says; ``None`` if it is absent and not ``required``."""
    check_data_prefix(prefix)
    found = find_split(store, prefix, split)
    if found is None:
        if not required:
            return None
        what = "holds no data" if not store.list(prefix) else f"holds no {split!r} split"
        raise DataError(
            f"account {store.account!r}, bucket {store.bucket!r}: {what} under {prefix!r}; expected "
            f"{prefix}{split}.csv, {prefix}{split}.parquet, {prefix}{split}/features.npy with labels.npy, "
            f"or {prefix}{split}/<class>/<image>; put data with `fedring data put --account {store.account} SRC`"
        )
    fmt, keys = found
    kind = "tables" if fmt in TABLE_FORMATS else fmt
    if kind not in formats.accepted():
        raise DataError(
            f"{store.where(keys[0])}: this workload reads {' or '.join(formats.accepted())}, not {kind}"
        )
    if formats.table is not None and fmt in TABLE_FORMATS:
        return read_table(store, keys[0], fmt, formats.table, formats.classes)
    if fmt == "arrays":
        missing = [k for k in keys if not store.exists(k)]
        if missing:
            raise DataError(f"{store.where(missing[0])}: missing; arrays come as features.npy with labels.npy")
        return read_arrays(store, keys[0], keys[1], formats.classes)
    assert formats.images is not None  # kind == "images" was accepted above
    return read_image_folder(store, data_split_folder(prefix, split), keys, formats.images, formats.classes)


def load_account_data(store: Store, formats: Formats, prefix: str = DATA_PREFIX) -> AccountData:
    """The ``train`` split (required) and the ``eval`` split (optional) of one account."""
    return AccountData(
        train=load_split(store, prefix, "train", formats, required=True),  # type: ignore[arg-type]
        evaluation=load_split(store, prefix, "eval", formats, required=False),
    )
