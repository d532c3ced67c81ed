"""Keep an account's key ring (and its authority) in Prefect ``Secret`` blocks.

``fedring`` never imports Prefect; this is the glue. The block holds the JSON of
``KeyRing.to_json()`` / ``Authority.to_json()``, stored the way Prefect stores every
secret: obfuscated in the UI, but readable in full by anyone who can reach the Prefect
API (blocks are read with their secrets). So keep these blocks only on the owning
organisation's own Prefect, where its own agent and workers load them at run time; never
on a server another organisation can reach.

    save_key_ring(ring, key_ring_block_name("acme"))
    ring = load_key_ring(key_ring_block_name("acme"))
"""

from __future__ import annotations

import json
from typing import Any

from prefect.blocks.system import Secret

from fedring.errors import ConfigError
from fedring.keys import Authority, KeyRing


def key_ring_block_name(account: str) -> str:
    """The Secret block that holds ``account``'s key ring."""
    return f"fedring-{account}-key-ring"


def authority_block_name(account: str) -> str:
    """The Secret block that holds ``account``'s attribute authority."""
    return f"fedring-{account}-authority"


def _text(value: Any, name: str) -> str:
    # Secret.get() json-decodes string values, so a stored JSON text comes back a dict
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, str):
        return value
    raise ConfigError(f"Secret block {name!r} does not hold fedring key material")


def save_key_ring(ring: KeyRing, name: str, *, overwrite: bool = True) -> None:
    """Store ``ring`` in the Secret block ``name``."""
    Secret(value=ring.to_json()).save(name, overwrite=overwrite)


def load_key_ring(name: str) -> KeyRing:
    """The key ring stored in the Secret block ``name``."""
    return KeyRing.from_json(_text(Secret.load(name).get(), name))


def save_authority(authority: Authority, name: str, *, overwrite: bool = True) -> None:
    """Store ``authority`` (its private attribute keys) in the Secret block ``name``."""
    Secret(value=authority.to_json()).save(name, overwrite=overwrite)


def load_authority(name: str) -> Authority:
    """The authority stored in the Secret block ``name``."""
    return Authority.from_json(_text(Secret.load(name).get(), name))
