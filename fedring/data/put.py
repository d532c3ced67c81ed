"""``data put``: copy an owner's local files into its own bucket, under its data prefix.

The owner writes with its own credentials (``owner_store``); nobody else's bucket is
touched. A folder keeps its relative paths (``train/3/img.png`` -> ``data/train/3/img.png``),
a single file keeps its name. Hidden files (a name starting with ``.``) are skipped.
Objects are immutable: putting the same bytes again is a no-op, so an interrupted put
is finished by running it again; other bytes under an existing key are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fedring.errors import DataError, ObjectExists
from fedring.layout import DATA_PREFIX, data_key
from fedring.storage import Store


@dataclass
class PutReport:
    account: str
    bucket: str
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    bytes: int = 0


def local_files(source: Path) -> list[tuple[Path, str]]:
    """(file, relative key) for ``source``: a file, or every visible file under a folder, sorted."""
    if source.is_file():
        return [(source, source.name)]
    if not source.is_dir():
        raise DataError(f"{source}: no such file or folder")
    files = []
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            files.append((path, relative.as_posix()))
    if not files:
        raise DataError(f"{source}: the folder holds no files to put")
    return files


def put_data(store: Store, source: Path, *, prefix: str = DATA_PREFIX) -> PutReport:
    """Copy ``source`` (a file or a folder) into ``store`` under ``prefix``."""
    report = PutReport(store.account, store.bucket)
    for path, relative in local_files(source):
        key = data_key(prefix, relative)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise DataError(f"{path}: cannot be read ({exc.strerror})") from exc
        existed = store.exists(key)
        try:
            store.put(key, data)
        except ObjectExists as exc:
            raise DataError(
                f"{store.where(key)} already holds other bytes; data objects are immutable: put the new "
                f"version under another prefix (--prefix {prefix}v2/) or remove the old one first"
            ) from exc
        except ValueError as exc:  # check_key: a name the store cannot hold
            raise DataError(f"{path}: cannot be stored as {key!r} ({exc})") from exc
        (report.unchanged if existed else report.written).append(key)
        report.bytes += len(data)
    return report
