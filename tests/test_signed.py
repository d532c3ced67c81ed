"""Signed statements: any change to kind, signer, context or body, or a key not pinned, is refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedring.errors import IntegrityError, UnknownKey
from fedring.keys import Identity
from fedring.keys.identity import format_pin, parse_pin
from fedring.keys.signed import sign, signer_of, verify

ALICE, MALLORY = Identity.create("alice"), Identity.create("mallory")
PINS = {"alice": ALICE.signing_public, "mallory": MALLORY.signing_public}
CTX = {"run": "r", "round": 2, "stage": "reveal", "to": "host"}


def test_a_statement_verifies_against_the_pin_and_signing_again_gives_the_same_bytes():
    blob = sign(ALICE, "reveal", b"shares", CTX)

    assert verify(blob, PINS, kind="reveal", signer="alice", context=CTX) == b"shares"
    assert sign(ALICE, "reveal", b"shares", CTX) == blob  # deterministic: a retry rewrites nothing
    assert signer_of(blob) == "alice"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "advertise"}, "is a 'reveal' statement"),
        ({"signer": "bob"}, "signed by 'alice', not 'bob'"),
        ({"context": {**CTX, "round": 3}}, "replayed or moved"),
    ],
)
def test_a_statement_read_as_another_kind_signer_or_context_is_refused(change, message):
    blob = sign(ALICE, "reveal", b"shares", CTX)
    expected = {"kind": "reveal", "signer": "alice", "context": CTX, **change}
    with pytest.raises(IntegrityError, match=message):
        verify(blob, {**PINS, "bob": ALICE.signing_public}, **expected)


def test_a_forged_statement_claiming_another_signer_is_refused():
    # mallory writes alice's name into the header and signs with her own key
    forged = sign(Identity(  # an identity object that says "alice" but holds mallory's key
        "alice", b"\x01" * 32, MALLORY._ed25519), "reveal", b"shares", CTX)
    with pytest.raises(IntegrityError, match="not made by alice's pinned identity key"):
        verify(forged, PINS, kind="reveal", signer="alice", context=CTX)


def test_a_signer_without_a_pin_is_an_unknown_key():
    blob = sign(ALICE, "reveal", b"shares", CTX)
    with pytest.raises(UnknownKey, match="alice"):
        verify(blob, {"mallory": MALLORY.signing_public}, kind="reveal", signer="alice", context=CTX)


@settings(max_examples=60)
@given(st.binary(max_size=64), st.data())
def test_flipping_any_byte_of_a_statement_is_refused(body, data):
    blob = bytearray(sign(ALICE, "reveal", body, CTX))
    assert verify(bytes(blob), PINS, kind="reveal", signer="alice", context=CTX) == body  # now remembered as valid
    i = data.draw(st.integers(0, len(blob) - 1))
    blob[i] ^= data.draw(st.integers(1, 255))
    with pytest.raises(IntegrityError):
        verify(bytes(blob), PINS, kind="reveal", signer="alice", context=CTX)


@settings(max_examples=60)
@given(st.binary(max_size=300), st.data())
def test_a_remembered_valid_signature_vouches_for_nothing_else(message, data):
    """The process remembers signatures it found valid; changing any one of key, message or
    signature is refused, every time it is asked."""
    signature = ALICE.sign(message)
    Identity.verify(ALICE.signing_public, message, signature)  # valid: remembered
    key, changed, sig = bytearray(ALICE.signing_public), bytearray(message + b"\0"), bytearray(signature)
    which = data.draw(st.sampled_from(["key", "message", "signature"]))
    part = {"key": key, "message": changed, "signature": sig}[which]
    if which != "message":
        part[data.draw(st.integers(0, len(part) - 1))] ^= data.draw(st.integers(1, 255))
    for _ in range(2):
        with pytest.raises(IntegrityError, match="signature verification failed"):
            Identity.verify(bytes(key), bytes(changed if which == "message" else message), bytes(sig))
    with pytest.raises(IntegrityError, match="signature verification failed"):
        Identity.verify(MALLORY.signing_public, message, signature)  # a valid signature, not mallory's
    Identity.verify(ALICE.signing_public, message, signature)


@pytest.mark.parametrize("blob", [b"", b"FRSIG1\n", b"FRSIG1\n{not json}\nbody", b"FRSIG1\n[1]\n", b"other"])
def test_malformed_statements_are_integrity_errors(blob):
    with pytest.raises(IntegrityError):
        verify(blob, PINS, kind="reveal", signer="alice", context=CTX)


def test_pins_round_trip_and_malformed_pins_are_refused():
    assert parse_pin(ALICE.pin) == ALICE.signing_public and ALICE.pin == format_pin(ALICE.signing_public)
    for bad in ("ed25519:abc", "rsa:" + "00" * 32, "ed25519:" + "zz" * 32, "ed25519:" + "00" * 31):
        with pytest.raises(ValueError):
            parse_pin(bad)
