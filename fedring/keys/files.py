"""Private key files: JSON in 0600 files written atomically; refused when others can read them.

``PrivateFile`` gives a class with ``to_json`` / ``from_json`` its ``save`` and ``load``,
so every kind of private key file is written and read the same way.
"""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path
from typing import Self

from fedring.errors import ConfigError


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{what} is not valid base64") from exc


def write_private(path: Path, text: str) -> None:
    """Write atomically to a file only the owner can read (0600, via rename)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def read_private(path: Path) -> str:
    """Read a private file; refuse it if group or others can read it (like ssh does)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(f"key file {str(path)!r} does not exist") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"key file {str(path)!r} is accessible by others (mode {stat.S_IMODE(mode):04o});"
            f" run: chmod 600 {path}"
        )
    return path.read_text("utf-8")


class PrivateFile:
    """``save`` / ``load`` for classes that turn themselves into JSON text and back."""

    def to_json(self) -> str:
        raise NotImplementedError

    @classmethod
    def from_json(cls, text: str) -> Self:
        raise NotImplementedError

    def save(self, path: str | Path) -> None:
        write_private(Path(path), self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> Self:
        return cls.from_json(read_private(Path(path)))
