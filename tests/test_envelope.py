"""Envelope: round trips, who can open, unknown attributes, rotation and rewrap."""

from __future__ import annotations

import io
from itertools import chain

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedring import envelope
from fedring.errors import ConfigError, IntegrityError, PolicyNotSatisfied, PolicyTooLarge, UnknownKey
from fedring.keys import Authority, KeyRing, PublicDirectory, new_account_keys
from fedring.policy import parse
from tests.test_policy import UNIVERSE, holds, render, trees

CTX = {"run": "run-1", "round": 3, "stage": "commit"}
NAMES = ["acme:self", "acme:eval", "beta:self", "beta:gpu", "gamma:self"]


@pytest.fixture(scope="module")
def world() -> tuple[dict[str, Authority], dict[str, KeyRing], PublicDirectory]:
    authorities, rings = {}, {}
    for account in ("acme", "beta", "gamma"):
        authorities[account], rings[account] = new_account_keys(account)
    authorities["acme"].issue("eval")
    authorities["beta"].issue("gpu")
    directory = PublicDirectory.from_documents(a.public_document() for a in authorities.values())
    return authorities, rings, directory


def ring_of(authorities: dict[str, Authority], attributes: set[str]) -> KeyRing:
    return KeyRing(authorities[a.split(":")[0]].issue(a) for a in attributes)


@pytest.mark.parametrize("size", [0, 1, 1023, 1024, 1025, 5000])
def test_round_trip_bytes_and_streams(world, size: int) -> None:  # type: ignore[no-untyped-def]
    # Prepare
    _, rings, directory = world
    data = bytes(i * 7 % 251 for i in range(size))

    # Execute
    blob = envelope.seal_bytes("acme:self or beta:self", directory, data, context=CTX,
                               chunk_size=1024)
    streamed = io.BytesIO()
    envelope.seal("acme:self or beta:self", directory, io.BytesIO(data), streamed, context=CTX,
                  chunk_size=1024)
    opened = io.BytesIO()
    header = envelope.open(rings["beta"], io.BytesIO(streamed.getvalue()), opened, context=CTX)

    # Assert
    assert envelope.open_bytes(rings["acme"], blob, context=CTX) == data
    assert envelope.open_bytes(rings["acme"], streamed.getvalue(), context=CTX) == data
    assert opened.getvalue() == data
    chunks = max(1, -(-size // 1024))
    assert len(blob) == header.length + size + 16 * chunks
    assert header.context == CTX and header.chunk_size == 1024
    assert header.policy == "acme:self or beta:self"


def test_streaming_reads_from_a_reader_without_readinto(world) -> None:  # type: ignore[no-untyped-def]
    _, rings, directory = world

    class Trickle:  # a pipe-like reader returning at most 100 bytes per read
        def __init__(self, data: bytes) -> None:
            self.inner = io.BytesIO(data)

        def read(self, n: int = -1) -> bytes:
            return self.inner.read(min(n, 100) if n >= 0 else 100)

    class ShortWrites(io.BytesIO):  # a raw sink that takes at most 100 bytes per write
        def write(self, b) -> int:  # type: ignore[no-untyped-def, override]
            return super().write(bytes(memoryview(b)[:100]))

    data = bytes(range(256)) * 20
    sealed = ShortWrites()
    envelope.seal("acme:self", directory, Trickle(data), sealed, context=CTX, chunk_size=1024)
    out = ShortWrites()
    envelope.open(rings["acme"], Trickle(sealed.getvalue()), out, context=CTX)

    assert out.getvalue() == data


def test_bytes_calls_take_any_contiguous_buffer(world) -> None:  # type: ignore[no-untyped-def]
    _, rings, directory = world
    vector = np.arange(3000, dtype=np.float32)  # 12000 bytes, 12 chunks of 1 KiB

    blob = envelope.seal_bytes("acme:self", directory, vector, context=CTX, chunk_size=1024)
    opened = envelope.open_bytes(rings["acme"], memoryview(blob), context=CTX)

    assert np.array_equal(np.frombuffer(opened, dtype=np.float32), vector)


@settings(max_examples=40, deadline=None)
@given(
    policy=st.sampled_from([
        "acme:self", "acme:self and beta:self", "acme:self or gamma:self",
        "2 of (acme:eval, beta:gpu, gamma:self)", "(acme:self or beta:self) and beta:gpu",
        "1 of (acme:eval and beta:self, gamma:self and beta:gpu)", "3 of (acme:self, acme:eval, beta:gpu)",
    ]),
    held=st.sets(st.sampled_from(NAMES)),
    data=st.binary(max_size=3000),
)
def test_open_succeeds_exactly_when_the_policy_is_satisfied(world, policy, held, data) -> None:  # type: ignore[no-untyped-def]
    # Prepare
    authorities, _, directory = world
    ring = ring_of(authorities, held)
    blob = envelope.seal_bytes(policy, directory, data, context=CTX, chunk_size=1024)

    # Execute / Assert
    if parse(policy).satisfied_by(held) is not None:
        assert envelope.open_bytes(ring, blob, context=CTX) == data
    else:
        with pytest.raises(PolicyNotSatisfied) as info:
            envelope.open_bytes(ring, blob, context=CTX)
        assert info.value.missing == parse(policy).missing(held)


@pytest.fixture(scope="module")
def universe() -> tuple[dict[str, KeyRing], PublicDirectory]:
    """One key per attribute of the policy tests' universe, each alone in a ring."""
    authorities: dict[str, Authority] = {}
    keys = {}
    for attr in UNIVERSE:
        account = attr.split(":")[0]
        authority = authorities.setdefault(account, Authority.create(account))
        keys[attr] = authority.issue(attr)
    directory = PublicDirectory.from_documents(a.public_document() for a in authorities.values())
    return keys, directory


@settings(max_examples=40, deadline=None)
@given(tree=trees(), held=st.sets(st.sampled_from(UNIVERSE)))
def test_random_policies_open_exactly_for_satisfying_sets(universe, tree, held) -> None:  # type: ignore[no-untyped-def]
    # Prepare: the oracle evaluates the policy tree directly, not the normal form
    keys, directory = universe
    blob = envelope.seal_bytes(render(tree), directory, b"payload", context=CTX)
    ring = KeyRing(keys[a] for a in held)

    # Execute / Assert
    if holds(tree, held):
        assert envelope.open_bytes(ring, blob, context=CTX) == b"payload"
    else:
        with pytest.raises(PolicyNotSatisfied):
            envelope.open_bytes(ring, blob, context=CTX)


def test_policy_not_satisfied_names_what_is_missing(world) -> None:  # type: ignore[no-untyped-def]
    _, rings, directory = world
    blob = envelope.seal_bytes("(acme:self and beta:self) or acme:eval and gamma:self", directory,
                               b"x", context=CTX)

    with pytest.raises(PolicyNotSatisfied) as info:
        envelope.open_bytes(rings["acme"], blob, context=CTX)

    assert info.value.missing == [["acme:eval", "gamma:self"], ["beta:self"]]
    assert str(info.value) == (
        "policy '(acme:self and beta:self) or acme:eval and gamma:self' is not satisfied: "
        "missing attribute(s) beta:self (closest clause)"
    )


def test_unknown_attributes_are_refused_at_seal_time(world) -> None:  # type: ignore[no-untyped-def]
    _, _, directory = world
    sink = io.BytesIO()

    with pytest.raises(UnknownKey) as info:
        envelope.seal("acme:self or delta:self", directory, io.BytesIO(b"x"), sink, context=CTX)

    assert info.value.key_id == "delta:self"
    assert str(info.value) == (
        "unknown key delta:self in the public directory (import its authority's public keys)"
    )
    assert sink.getvalue() == b""  # nothing written before the check


def test_bad_arguments_are_config_errors(world) -> None:  # type: ignore[no-untyped-def]
    _, _, directory = world

    with pytest.raises(ConfigError, match="chunk_size"):
        envelope.seal_bytes("acme:self", directory, b"", context=CTX, chunk_size=10)
    with pytest.raises(ConfigError, match="context entry 'round'"):
        envelope.seal_bytes("acme:self", directory, b"", context={"round": 1.5})  # type: ignore[dict-item]


def test_context_is_canonical_but_typed(world) -> None:  # type: ignore[no-untyped-def]
    _, rings, directory = world
    blob = envelope.seal_bytes("acme:self", directory, b"m", context=CTX)

    reordered = {"stage": "commit", "round": 3, "run": "run-1"}
    assert envelope.open_bytes(rings["acme"], blob, context=reordered) == b"m"
    with pytest.raises(IntegrityError):
        envelope.open_bytes(rings["acme"], blob, context={**CTX, "round": "3"})


def test_read_header_without_keys(world) -> None:  # type: ignore[no-untyped-def]
    _, _, directory = world
    blob = envelope.seal_bytes("acme:self and beta:self", directory, b"abc", context=CTX,
                               content_type="application/x-npz")

    header = envelope.read_header(io.BytesIO(blob))

    assert header.content_type == "application/x-npz"
    assert header.context == CTX
    assert [[r.attribute for r in c] for c in header.clauses] == [["acme:self", "beta:self"]]
    assert all(r.epoch == 1 for r in chain.from_iterable(header.clauses))


def test_rotation_and_rewrap() -> None:
    # Prepare: acme issues "eval" to beta; an envelope is sealed at epoch 1
    acme, acme_ring = new_account_keys("acme")
    old_key = acme.issue("eval")
    old_holder = KeyRing([old_key])
    old_dir = PublicDirectory.from_documents([acme.public_document()])
    old_blob = envelope.seal_bytes("acme:eval", old_dir, b"model" * 500, context=CTX,
                                   chunk_size=1024)

    # Execute: rotate, re-issue to the holders who keep the attribute, rewrap the old envelope
    assert acme.rotate("eval") == 2
    new_dir = PublicDirectory.from_documents([acme.public_document()])
    current = KeyRing([acme.issue("eval")])
    new_blob = envelope.seal_bytes("acme:eval", new_dir, b"fresh", context=CTX)
    sink = io.BytesIO()
    header = envelope.rewrap(old_holder, new_dir, io.BytesIO(old_blob), sink)
    rewrapped = sink.getvalue()

    # Assert: new envelopes need the new epoch
    assert envelope.read_header_bytes(new_blob).clauses[0][0].epoch == 2
    assert envelope.open_bytes(current, new_blob, context=CTX) == b"fresh"
    with pytest.raises(UnknownKey) as info:
        envelope.open_bytes(old_holder, new_blob, context=CTX)
    new_id = new_dir.lookup("acme:eval").key_id
    assert (info.value.key_id, info.value.epoch) == (new_id, 2)
    assert str(info.value).startswith(f"unknown key {new_id} epoch 2 in the key ring (for acme:eval")
    # ... rewrap lets current holders open the old envelope, payload bytes untouched
    assert header.clauses[0][0].epoch == 2
    assert envelope.open_bytes(current, rewrapped, context=CTX) == b"model" * 500
    old_header = envelope.read_header_bytes(old_blob)
    assert rewrapped[header.length:] == old_blob[old_header.length:]
    with pytest.raises(UnknownKey):
        envelope.open_bytes(old_holder, rewrapped, context=CTX)
    with pytest.raises(UnknownKey):  # a current holder cannot open the envelope before rewrap
        envelope.open_bytes(current, old_blob, context=CTX)


def test_rewrap_to_a_new_policy(world) -> None:  # type: ignore[no-untyped-def]
    _, rings, directory = world
    blob = envelope.seal_bytes("acme:self", directory, b"shared model", context=CTX)
    sink = io.BytesIO()

    header = envelope.rewrap(rings["acme"], directory, io.BytesIO(blob), sink,
                             policy="acme:self or gamma:self")

    assert header.policy == "acme:self or gamma:self"
    assert envelope.open_bytes(rings["gamma"], sink.getvalue(), context=CTX) == b"shared model"
    with pytest.raises(PolicyNotSatisfied):  # rewrap needs the right to open
        envelope.rewrap(rings["beta"], directory, io.BytesIO(blob), io.BytesIO())


def test_the_largest_audience_a_round_model_has_opens_for_its_last_member() -> None:
    # Prepare: the host and 1,023 participants with the longest names (63 characters), one
    # clause each: the policy a 1,023-account federation seals its model to
    from fedring.policy import MAX_CLAUSES

    names = [f"{i:04d}-" + "x" * 58 for i in range(MAX_CLAUSES + 1)]
    authorities = {n: Authority.create(n) for n in names}
    keys = {n: authorities[n].issue(f"{n}:self") for n in names}
    directory = PublicDirectory.from_documents(a.public_document() for a in authorities.values())
    audience, outsider = names[:MAX_CLAUSES], names[MAX_CLAUSES]

    # Execute
    blob = envelope.seal_bytes(" or ".join(f"{n}:self" for n in audience), directory, b"model", context=CTX)

    # Assert
    assert envelope.open_bytes(KeyRing([keys[audience[-1]]]), blob, context=CTX) == b"model"
    with pytest.raises(PolicyNotSatisfied):
        envelope.open_bytes(KeyRing([keys[outsider]]), blob, context=CTX)
    with pytest.raises(PolicyTooLarge, match=f"the limit is {MAX_CLAUSES}"):
        envelope.seal_bytes(" or ".join(f"{n}:self" for n in names), directory, b"model", context=CTX)
