"""``NAME`` or ``NAME:VERSION``: a model of the registry as typed on the command line."""

from __future__ import annotations

from dataclasses import dataclass

from fedring.errors import ConfigError
from fedring.layout import check_name


@dataclass(frozen=True)
class ModelRef:
    """``NAME`` or ``NAME:VERSION`` as typed on the command line (version None: the latest)."""

    name: str
    version: int | None = None

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        name, sep, version = text.partition(":")
        check_name("model name", name)
        if not sep:
            return cls(name)
        if not version.isdigit() or int(version) < 1:
            raise ConfigError(f"model {text!r}: the version after ':' must be a positive integer")
        return cls(name, int(version))

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name}:{self.version}"
