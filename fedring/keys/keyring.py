"""A holder's key ring: the attribute keys it was issued, possibly several epochs of one."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from fedring.errors import ConfigError
from fedring.keys.attributes import AttributeKey
from fedring.keys.files import read_private, write_private


class KeyRing:
    """What one holder holds: attribute keys, possibly several epochs of one attribute."""

    def __init__(self, keys: Iterable[AttributeKey] = ()) -> None:
        self._keys: dict[tuple[str, int], AttributeKey] = {}
        self._ids: dict[str, AttributeKey] = {}
        for key in keys:
            self.add(key)

    def add(self, key: AttributeKey) -> None:
        self._keys[(key.attribute, key.epoch)] = key
        self._ids[key.key_id] = key

    @property
    def attributes(self) -> frozenset[str]:
        return frozenset(attr for attr, _ in self._keys)

    def keys(self) -> list[AttributeKey]:
        return [self._keys[k] for k in sorted(self._keys)]

    def find(self, attribute: str, epoch: int, key_id: str) -> AttributeKey | None:
        """The key with exactly this attribute, epoch and key id, if held."""
        key = self._ids.get(key_id)
        return key if key is not None and (key.attribute, key.epoch) == (attribute, epoch) else None

    def to_json(self) -> str:
        return json.dumps({"keys": [k.to_dict() for k in self.keys()]})

    @classmethod
    def from_json(cls, text: str) -> KeyRing:
        try:
            return cls(AttributeKey.from_dict(k) for k in json.loads(text)["keys"])
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"malformed key ring: {exc}") from exc

    def save(self, directory: str | Path) -> None:
        """One 0600 file per key in a 0700 directory, so issuing a key adds a file."""
        root = Path(directory)
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(root, 0o700)
        for key in self.keys():
            name = f"{key.attribute.replace(':', '+')}@{key.epoch}.key.json"
            write_private(root / name, json.dumps(key.to_dict()))

    @classmethod
    def load(cls, directory: str | Path) -> KeyRing:
        root = Path(directory)
        if not root.is_dir():
            raise ConfigError(f"key ring directory {str(root)!r} does not exist (--keys)")
        return cls(
            AttributeKey.from_dict(json.loads(read_private(p)))
            for p in sorted(root.glob("*.key.json"))
        )
