"""Public directories: the current public key of each attribute, from authorities' documents.

A document speaks for one authority; a key for another authority's attribute is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fedring.errors import ConfigError, IntegrityError, UnknownKey
from fedring.keys.attributes import PublicKey, key_id
from fedring.keys.files import unb64
from fedring.layout import check_name
from fedring.policy import ATTRIBUTE_RE

PUBLIC_FORMAT = "fedring-public-keys/1"


class PublicDirectory:
    """Current public keys per attribute, merged from authorities' documents."""

    def __init__(self, keys: Iterable[PublicKey] = ()) -> None:
        self._keys: dict[str, PublicKey] = {}
        for key in keys:
            known = self._keys.get(key.attribute)
            if known is not None and key.epoch == known.epoch and key.key_id != known.key_id:
                raise IntegrityError(
                    f"two different keys claim {key.attribute} epoch {key.epoch} ({known.key_id}, {key.key_id}); "
                    "one of the documents is forged or the authority reused an epoch"
                )
            if known is None or key.epoch > known.epoch:
                self._keys[key.attribute] = key

    @classmethod
    def from_documents(cls, docs: Iterable[Mapping[str, Any]]) -> PublicDirectory:
        return cls(key for doc in docs for key in _document_keys(doc))

    def merge(self, other: PublicDirectory) -> PublicDirectory:
        """A new directory with both sets of keys; the higher epoch wins per attribute."""
        return PublicDirectory([*self._keys.values(), *other._keys.values()])

    @property
    def attributes(self) -> frozenset[str]:
        return frozenset(self._keys)

    def __contains__(self, attribute: object) -> bool:
        return attribute in self._keys

    def lookup(self, attribute: str) -> PublicKey:
        """The current public key of ``attribute``; UnknownKey names it if no document has it."""
        try:
            return self._keys[attribute]
        except KeyError:
            raise UnknownKey(
                attribute, where="the public directory (import its authority's public keys)"
            ) from None


def _document_keys(doc: Mapping[str, Any]) -> list[PublicKey]:
    try:
        if doc.get("format") != PUBLIC_FORMAT:
            raise ConfigError(f"not a public key document (format {doc.get('format')!r})")
        authority = check_name("authority", doc["authority"])
        keys = []
        for attr, entry in doc["attributes"].items():
            if not ATTRIBUTE_RE.fullmatch(attr) or attr.split(":", 1)[0] != authority:
                raise ConfigError(f"authority {authority!r} publishes a key for {attr!r}")
            public = unb64(entry["public"], f"public key of {attr}")
            if len(public) != 32 or key_id(public) != entry["key_id"]:
                raise ConfigError(f"public key of {attr} does not match its key id")
            keys.append(PublicKey(attr, int(entry["epoch"]), entry["key_id"], public))
        return keys
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"malformed public key document: {exc!r}") from exc
