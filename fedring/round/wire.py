"""What travels between the host and the clients, besides object names (``fedring.layout``).

- the context every protocol envelope is bound to (run, round, stage, sender, recipient),
  so that a replayed or mis-routed object fails to open;
- the u32 vector codec of masked vectors and partial sums (raw little-endian);
- the share-bundle codec (name -> sealed share, as JSON with base64 values).

Host and client import the same functions, so the two sides cannot drift apart.
"""

from __future__ import annotations

import base64
import json

import numpy as np

from fedring.errors import IntegrityError

PARTICIPANTS = "participants"  # recipient named in the global model's envelope context


def context(run: str, rnd: int, stage: str, *, sender: str, recipient: str) -> dict[str, str | int]:
    """The associated context of a protocol envelope."""
    return {"run": run, "round": rnd, "stage": stage, "from": sender, "to": recipient}


def u32_to_bytes(vector: np.ndarray) -> bytes:
    """A uint32 vector as raw little-endian bytes (4 bytes per entry, no framing)."""
    return vector.astype("<u4").tobytes()


def u32_from_bytes(data: bytes) -> np.ndarray:
    """The inverse of ``u32_to_bytes``, as a writable native uint32 array."""
    if len(data) % 4:
        raise IntegrityError("vector bytes are not a whole number of uint32 values")
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)


def encode_shares(shares: dict[str, bytes]) -> bytes:
    """A bundle of sealed shares, keyed by account name."""
    return json.dumps({k: base64.b64encode(v).decode() for k, v in sorted(shares.items())}).encode()


def decode_shares(data: bytes) -> dict[str, bytes]:
    """The inverse of ``encode_shares``; a malformed bundle is an IntegrityError."""
    try:
        return {k: base64.b64decode(v, validate=True) for k, v in json.loads(data).items()}
    except (ValueError, AttributeError, TypeError) as exc:  # JSONDecodeError and binascii.Error are ValueErrors
        raise IntegrityError(f"a share bundle is malformed: {exc}") from exc
