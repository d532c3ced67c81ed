"""Object keys of the model registry, under ``registry/`` in the host's bucket.

::

    registry/_publisher.json                          the publisher's Ed25519 verifying key (first write wins)
    registry/<model>/<version:06d>/card.json          the model card (written last: the version's commit)
    registry/<model>/<version:06d>/model/<g:06d>      the sealed weights, generation g (1 = as published)
    registry/<model>/<version:06d>/signature/<g:06d>  Ed25519 over SHA-256 of card and generation g

A rewrap (revocation) writes generation g + 1 beside g: objects are immutable, so a new
envelope needs a new key. The current envelope of a version is its highest generation.
These builders belong in ``fedring/layout.py``; they live here until it adopts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fedring.errors import ConfigError
from fedring.layout import check_name, registry_prefix

REGISTRY = "registry/"
PUBLISHER = "registry/_publisher.json"

_VERSION_DIR = re.compile(r"^registry/([a-z0-9][a-z0-9-]*)/(\d{6})/")
_GENERATION = re.compile(r"/(model|signature)/(\d{6})$")


def version_prefix(model: str, version: int) -> str:
    return f"{registry_prefix(model)}{version:06d}/"


def card(model: str, version: int) -> str:
    return f"{version_prefix(model, version)}card.json"


def envelope(model: str, version: int, generation: int) -> str:
    return f"{version_prefix(model, version)}model/{generation:06d}"


def signature(model: str, version: int, generation: int) -> str:
    return f"{version_prefix(model, version)}signature/{generation:06d}"


def parse_version_key(key: str) -> tuple[str, int] | None:
    """(model, version) of any key inside a version directory, else None."""
    m = _VERSION_DIR.match(key)
    return (m.group(1), int(m.group(2))) if m else None


def generations(keys: list[str], kind: str = "model") -> list[int]:
    """Generation numbers of ``kind`` objects ("model" or "signature") among ``keys``, sorted."""
    found = []
    for key in keys:
        m = _GENERATION.search(key)
        if m and m.group(1) == kind:
            found.append(int(m.group(2)))
    return sorted(found)


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
