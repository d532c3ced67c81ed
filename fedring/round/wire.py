"""What travels between the host and the clients, besides object names (``fedring.layout``).

- the context every protocol envelope is bound to (run, round, stage, sender, recipient),
  so that a replayed or mis-routed object fails to open;
- the u32 vector codec of masked vectors and partial sums (raw little-endian);
- the bundle codec: name -> bytes (sealed shares, signed statements), as JSON with base64;
- a vector record as an account keeps it (its masked vector, its partial sum): a little
  metadata and the u32 vector;
- the survivor set every survivor signs in the consistency check.

Host and client import the same functions, so the two sides cannot drift apart.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import Iterable

import numpy as np

from fedring.errors import IntegrityError
from fedring.keys.signed import canonical

PARTICIPANTS = "participants"  # recipient named in the global model's envelope context


def context(run: str, rnd: int | str, stage: str, *, sender: str, recipient: str) -> dict[str, str | int]:
    """The associated context of a protocol envelope."""
    return {"run": run, "round": rnd, "stage": stage, "from": sender, "to": recipient}


def u32_to_bytes(vector: np.ndarray) -> bytes:
    """A uint32 vector as raw little-endian bytes (4 bytes per entry, no framing).

    One copy (``tobytes``): a vector already little-endian uint32 is not converted first,
    which for ResNet-18's 11M entries saves a 45 MB copy per call.
    """
    return np.asarray(vector, dtype="<u4").tobytes()


def u32_from_bytes(data: bytes | bytearray | memoryview, offset: int = 0) -> np.ndarray:
    """The inverse of ``u32_to_bytes`` (of ``data`` from ``offset`` on), as a writable native uint32 array."""
    if (len(data) - offset) % 4:
        raise IntegrityError("vector bytes are not a whole number of uint32 values")
    return np.frombuffer(data, dtype="<u4", offset=offset).astype(np.uint32)


def encode_bundle(items: dict[str, bytes]) -> bytes:
    """Several named byte strings in one object (deterministic: sorted by name)."""
    return json.dumps({k: base64.b64encode(v).decode() for k, v in sorted(items.items())}).encode()


def decode_bundle(data: bytes) -> dict[str, bytes]:
    """The inverse of ``encode_bundle``; a malformed bundle is an IntegrityError."""
    try:
        return {k: base64.b64decode(v, validate=True) for k, v in json.loads(data).items()}
    except (ValueError, AttributeError, TypeError) as exc:  # JSONDecodeError and binascii.Error are ValueErrors
        raise IntegrityError(f"a bundle is malformed: {exc}") from exc


def encode_record(meta: dict, y: np.ndarray) -> bytes:
    """A vector with its metadata (JSON), as an account keeps it (contribution, partial sum)."""
    head = canonical(meta)
    return b"".join([struct.pack(">I", len(head)), head, np.ascontiguousarray(y, dtype="<u4").data])


def decode_record(data: bytes) -> tuple[dict, np.ndarray]:
    try:
        (n,) = struct.unpack_from(">I", data)
        meta = json.loads(data[4 : 4 + n])
    except (struct.error, ValueError) as exc:
        raise IntegrityError(f"a kept vector record is malformed: {exc}") from exc
    return meta, u32_from_bytes(data, offset=4 + n)


def survivor_set(survivors: Iterable[str], dropped: Iterable[str], *, model: str, view: str) -> bytes:
    """What every survivor signs before anything is revealed (Bonawitz et al. 2017, ConsistencyCheck).

    The SHA-256 digest of the sorted survivor and dropped lists with their sizes, the
    digest of the global model the round started from, and the digest of the
    advertisements the round was built on: survivors that signed the same bytes saw the
    same round. The lists go in as a digest, which each survivor computes from the lists
    it checked: every survivor receives the others' signed sets before it reveals, and
    with the lists in full that was n statements of O(n) bytes for each survivor (at
    1,000 accounts 19 MB in each survivor's reveal request, 18 GB a round; 0.75 MB and
    0.7 GB with the digest).
    """
    survivors, dropped = sorted(survivors), sorted(dropped)
    lists = hashlib.sha256(canonical({"survivors": survivors, "dropped": dropped})).hexdigest()
    return canonical({"survivors": len(survivors), "dropped": len(dropped), "lists": lists, "model": model, "view": view})
