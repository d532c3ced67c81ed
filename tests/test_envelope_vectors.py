"""The test vectors in docs/envelope.md, reproduced byte for byte and opened."""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from Crypto.Hash import SHAKE128

from fedring import envelope
from fedring.envelope_format import derive
from fedring.keys import AttributeKey, KeyRing, PublicDirectory

DOC = Path(__file__).resolve().parents[1] / "docs" / "envelope.md"


def vectors() -> list[dict[str, Any]]:
    """The JSON block between the test-vector markers of docs/envelope.md."""
    text = DOC.read_text()
    block = re.search(r"<!-- vectors -->\s*```json\n(.*?)```", text, re.S)
    assert block, "docs/envelope.md lost its vectors block"
    return json.loads(block.group(1))


def payload(spec: dict[str, Any]) -> bytes:
    return bytes(i % 251 for i in range(spec["payload_length"]))


def build(spec: dict[str, Any]) -> tuple[bytes, KeyRing]:
    """Seal a vector with its fixed keys and randomness (SHAKE128 of the stated seed)."""
    keys = [AttributeKey(k["attribute"], k["epoch"], bytes.fromhex(k["private"]))
            for k in spec["attribute_keys"]]
    directory = PublicDirectory(k.public_key() for k in keys)
    randfunc = SHAKE128.new(spec["randomness_seed"].encode()).read
    sink = io.BytesIO()
    envelope._seal_with(
        spec["policy"], directory, io.BytesIO(payload(spec)), sink, context=spec["context"],
        content_type=spec["content_type"], chunk_size=spec["chunk_size"],
        content_key=bytes.fromhex(spec["content_key"]),
        nonce_prefix=bytes.fromhex(spec["nonce_prefix"]), randfunc=randfunc,
    )
    return sink.getvalue(), KeyRing(keys)


@pytest.mark.parametrize("spec", vectors(), ids=lambda s: s["name"])
def test_vector(spec: dict[str, Any]) -> None:
    # Execute
    blob, ring = build(spec)

    # Assert
    assert len(blob) == spec["envelope_length"]
    assert hashlib.sha256(blob).hexdigest() == spec["envelope_sha256"]
    if "envelope" in spec:
        assert blob.hex() == spec["envelope"]
    header = envelope.read_header_bytes(blob)
    fixed = blob[: 9 + int.from_bytes(blob[5:9], "big")]
    assert hashlib.sha256(fixed).hexdigest() == spec["associated_data"]
    payload_key, mac_key = derive(bytes.fromhex(spec["content_key"]))
    assert (payload_key.hex(), mac_key.hex()) == (spec["payload_key"], spec["mac_key"])
    assert header.length == spec["header_length"]
    assert envelope.open_bytes(ring, blob, context=spec["context"]) == payload(spec)
