"""Tampering: every change to an envelope fails with the same bare IntegrityError."""

from __future__ import annotations

import hashlib
import io
import json
import struct

import pytest

from fedring import envelope
from fedring.errors import IntegrityError
from fedring.keys import KeyRing, PublicDirectory, new_account_keys

CTX = {"run": "run-1", "round": 3, "stage": "ring-hop"}
MESSAGE = (
    "envelope failed authentication (tampered, truncated, or opened with the wrong context)"
)
CHUNK = 1024


@pytest.fixture(scope="module")
def setup() -> tuple[KeyRing, PublicDirectory, bytes, bytes]:
    """A 3-chunk envelope (2.5 KiB payload) and a second one under the same key."""
    authority, ring = new_account_keys("acme")
    directory = PublicDirectory.from_documents([authority.public_document()])
    data = bytes(range(256)) * 10
    blob = envelope.seal_bytes("acme:self", directory, data, context=CTX, chunk_size=CHUNK)
    other = envelope.seal_bytes("acme:self", directory, data, context=CTX, chunk_size=CHUNK)
    return ring, directory, blob, other


def assert_refused(ring: KeyRing, blob: bytes, context: dict = CTX) -> None:  # type: ignore[type-arg]
    """Both the bytes and the streaming path raise exactly IntegrityError(MESSAGE)."""
    with pytest.raises(IntegrityError) as info:
        envelope.open_bytes(ring, blob, context=context)
    assert type(info.value) is IntegrityError and str(info.value) == MESSAGE
    with pytest.raises(IntegrityError) as info:
        envelope.open(ring, io.BytesIO(blob), io.BytesIO(), context=context)
    assert type(info.value) is IntegrityError and str(info.value) == MESSAGE


def chunks(blob: bytes) -> tuple[bytes, list[bytes]]:
    start = envelope.read_header_bytes(blob).length
    body = blob[start:]
    return blob[:start], [body[i : i + CHUNK + 16] for i in range(0, len(body), CHUNK + 16)]


def sections(blob: bytes) -> tuple[bytes, bytes, bytes]:
    """fixed part, key block, MAC (for rebuilding a header with a valid checksum)."""
    fixed_len = 9 + struct.unpack(">I", blob[5:9])[0]
    (block_len,) = struct.unpack(">I", blob[fixed_len : fixed_len + 4])
    block = blob[fixed_len + 4 : fixed_len + 4 + block_len]
    mac = blob[fixed_len + 4 + block_len : fixed_len + 36 + block_len]
    return blob[:fixed_len], block, mac


def rebuild(fixed: bytes, block: bytes, mac: bytes, rest: bytes) -> bytes:
    """A header an attacker could write: the checksum recomputed over the changed parts."""
    head = fixed + struct.pack(">I", len(block)) + block + mac
    return head + hashlib.sha256(head).digest() + rest


def test_the_fixture_opens(setup) -> None:  # type: ignore[no-untyped-def]
    ring, _, blob, _ = setup

    assert envelope.open_bytes(ring, blob, context=CTX) == bytes(range(256)) * 10


def test_every_single_byte_flip_fails(setup) -> None:  # type: ignore[no-untyped-def]
    ring, _, blob, _ = setup
    failures = []

    for i in range(len(blob)):
        flipped = bytearray(blob)
        flipped[i] ^= 0x01
        for path, call in (
            ("bytes", lambda: envelope.open_bytes(ring, bytes(flipped), context=CTX)),
            ("stream", lambda: envelope.open(ring, io.BytesIO(flipped), io.BytesIO(), context=CTX)),
        ):
            try:
                call()
                failures.append((i, path, "opened"))
            except IntegrityError as exc:
                if type(exc) is not IntegrityError or str(exc) != MESSAGE:
                    failures.append((i, path, repr(exc)))
            except Exception as exc:  # noqa: BLE001 - collect, then report every offender
                failures.append((i, path, repr(exc)))

    assert failures == []


def test_every_truncation_fails(setup) -> None:  # type: ignore[no-untyped-def]
    ring, _, blob, _ = setup
    header, _ = chunks(blob)
    cuts = [0, 4, 9, len(header) - 1, len(header), len(header) + 15, len(header) + 100,
            len(blob) - 1, len(blob) - 16]

    for cut in cuts:
        assert_refused(ring, blob[:cut])


def test_dropping_the_last_chunk_fails(setup) -> None:  # type: ignore[no-untyped-def]
    ring, _, blob, _ = setup
    header, parts = chunks(blob)

    assert_refused(ring, header + b"".join(parts[:-1]))


def test_reordering_and_duplicating_chunks_fail(setup) -> None:  # type: ignore[no-untyped-def]
    ring, _, blob, _ = setup
    header, (c0, c1, c2) = chunks(blob)

    assert_refused(ring, header + c1 + c0 + c2)
    assert_refused(ring, header + c0 + c0 + c1 + c2)
    assert_refused(ring, header + c0 + c1 + c1 + c2)
    assert_refused(ring, header + c0 + c1 + c2 + c2)


def test_trailing_bytes_fail(setup) -> None:  # type: ignore[no-untyped-def]
    ring, _, blob, _ = setup

    assert_refused(ring, blob + b"\x00")


def test_splicing_a_chunk_from_another_envelope_fails(setup) -> None:  # type: ignore[no-untyped-def]
    ring, _, blob, other = setup
    header, (c0, _, c2) = chunks(blob)
    _, (_, o1, _) = chunks(other)

    assert_refused(ring, header + c0 + o1 + c2)


def test_splicing_headers_between_envelopes_fails(setup) -> None:  # type: ignore[no-untyped-def]
    ring, _, blob, other = setup
    header, parts = chunks(blob)
    other_header, _ = chunks(other)

    assert_refused(ring, other_header + b"".join(parts))


def test_opening_with_another_context_fails(setup) -> None:  # type: ignore[no-untyped-def]
    ring, _, blob, _ = setup

    for context in ({**CTX, "run": "run-2"}, {**CTX, "round": 4}, {**CTX, "stage": "reveal"},
                    {"run": "run-1", "round": 3}, {**CTX, "extra": "x"}):
        assert_refused(ring, blob, context)


def test_swapping_the_policy_text_fails_even_with_a_valid_checksum(setup) -> None:  # type: ignore[no-untyped-def]
    ring, _, blob, _ = setup
    header, parts = chunks(blob)
    fixed, block, mac = sections(blob)
    doc = json.loads(block)
    doc["policy"] = "acme:self or evil:self"
    swapped = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()

    assert_refused(ring, rebuild(fixed, swapped, mac, b"".join(parts)))


def test_rewritten_context_fails_even_with_a_valid_checksum(setup) -> None:  # type: ignore[no-untyped-def]
    ring, _, blob, _ = setup
    _, parts = chunks(blob)
    fixed, block, mac = sections(blob)
    body = fixed[9:].replace(b'"round":3', b'"round":4')
    forged = rebuild(fixed[:5] + struct.pack(">I", len(body)) + body, block, mac, b"".join(parts))

    assert_refused(ring, forged, {**CTX, "round": 4})


def test_replacing_a_wrapped_share_fails_even_with_a_valid_checksum(setup) -> None:  # type: ignore[no-untyped-def]
    # Prepare: an attacker who knows the public key wraps a share of their own choosing
    ring, directory, blob, other = setup
    _, parts = chunks(blob)
    fixed, block, mac = sections(blob)
    doc = json.loads(block)
    doc["clauses"][0][0]["wrap"] = json.loads(sections(other)[1])["clauses"][0][0]["wrap"]
    forged = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()

    assert_refused(ring, rebuild(fixed, forged, mac, b"".join(parts)))


def test_empty_and_garbage_inputs_fail(setup) -> None:  # type: ignore[no-untyped-def]
    ring, _, _, _ = setup

    for junk in (b"", b"FREN", b"not an envelope at all" * 10, b"FREN\x01" + b"\xff" * 8):
        assert_refused(ring, junk)


@pytest.mark.parametrize(
    ("field", "value"),
    [("attribute", 5), ("epoch", "1"), ("epoch", True), ("key_id", None), ("wrap", "zz")],
)
def test_forged_key_block_types_fail(setup, field: str, value: object) -> None:  # type: ignore[no-untyped-def]
    ring, _, blob, _ = setup
    _, parts = chunks(blob)
    fixed, block, mac = sections(blob)
    doc = json.loads(block)
    doc["clauses"][0][0][field] = value
    forged = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()

    assert_refused(ring, rebuild(fixed, forged, mac, b"".join(parts)))
