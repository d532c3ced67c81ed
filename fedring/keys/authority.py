"""An account's attribute authority: issues ``<account>:<name>`` keys and rotates them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fedring.errors import ConfigError, UnknownKey
from fedring.keys.attributes import AttributeKey, identity_attribute
from fedring.keys.directory import PUBLIC_FORMAT
from fedring.keys.files import PrivateFile, b64
from fedring.keys.keyring import KeyRing
from fedring.layout import check_name
from fedring.policy import ATTRIBUTE_RE


class Authority(PrivateFile):
    """An account's attribute authority: issues ``<name>:<attribute>`` keys and rotates them."""

    def __init__(self, name: str, keys: Mapping[str, AttributeKey] | None = None) -> None:
        self.name = check_name("authority", name)
        self._keys: dict[str, AttributeKey] = dict(keys or {})

    @classmethod
    def create(cls, name: str) -> Authority:
        return cls(name)

    def attribute(self, name: str) -> str:
        """The full attribute for ``name`` or ``<authority>:name``; refuses another authority's."""
        full = name if ":" in name else f"{self.name}:{name}"
        if not ATTRIBUTE_RE.fullmatch(full):
            raise ConfigError(f"bad attribute {name!r}: use lowercase letters, digits, - . _")
        if full.split(":", 1)[0] != self.name:
            raise ConfigError(f"authority {self.name!r} cannot issue {full!r}: not its attribute")
        return full

    @property
    def attributes(self) -> frozenset[str]:
        return frozenset(self._keys)

    def issue(self, attribute_name: str) -> AttributeKey:
        """The current private key of an attribute (created at epoch 1 on first issue)."""
        full = self.attribute(attribute_name)
        if full not in self._keys:
            self._keys[full] = AttributeKey.generate(full, 1)
        return self._keys[full]

    def rotate(self, attribute_name: str) -> int:
        """Replace an attribute's key pair with a fresh one at the next epoch; forget the old."""
        full = self.attribute(attribute_name)
        if full not in self._keys:
            raise UnknownKey(full, where=f"authority {self.name!r} (issue it first)")
        epoch = self._keys[full].epoch + 1
        self._keys[full] = AttributeKey.generate(full, epoch)
        return epoch

    def public_document(self) -> dict[str, Any]:
        """All current public keys, as one JSON-able document to publish."""
        attrs = {}
        for attr, key in sorted(self._keys.items()):
            pub = key.public_key()
            attrs[attr] = {"epoch": pub.epoch, "key_id": pub.key_id, "public": b64(pub.public)}
        return {"format": PUBLIC_FORMAT, "authority": self.name, "attributes": attrs}

    def to_json(self) -> str:
        keys = [k.to_dict() for _, k in sorted(self._keys.items())]
        return json.dumps({"authority": self.name, "keys": keys}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Authority:
        try:
            data = json.loads(text)
            keys = [AttributeKey.from_dict(k) for k in data["keys"]]
            return cls(data["authority"], {k.attribute: k for k in keys})
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"malformed authority file: {exc}") from exc



def new_account_keys(account: str) -> tuple[Authority, KeyRing]:
    """An account's authority, having issued ``<account>:self`` into the account's key ring."""
    authority = Authority.create(account)
    return authority, KeyRing([authority.issue(identity_attribute(account))])
