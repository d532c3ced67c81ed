"""Wire formats both sides share: the share bundle, the u32 vector codec, envelope contexts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fedring.errors import IntegrityError
from fedring.round.wire import decode_bundle, encode_bundle

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-0123456789", min_size=1, max_size=12)


@given(st.dictionaries(names, st.binary(max_size=300), max_size=12))
def test_bundles_round_trip(shares):
    assert decode_bundle(encode_bundle(shares)) == shares


@pytest.mark.parametrize(
    "data",
    [b"{not json", b'["a list"]', b'{"beta": "not*base64"}', b'{"beta": 7}', b"\xff\xfe"],
)
def test_a_malformed_bundle_is_an_integrity_error(data):
    with pytest.raises(IntegrityError, match="^a bundle is malformed: "):
        decode_bundle(data)


# -- the u32 vector codec and envelope contexts ----------------------------------------------

import numpy as np  # noqa: E402

from fedring.round.wire import (  # noqa: E402
    context,
    decode_record,
    encode_record,
    survivor_set,
    u32_from_bytes,
    u32_to_bytes,
)


@given(st.lists(st.integers(0, 2**32 - 1), max_size=50))
def test_u32_vectors_round_trip_as_little_endian(values):
    vector = np.array(values, dtype=np.uint32)
    data = u32_to_bytes(vector)
    assert data == b"".join(v.to_bytes(4, "little") for v in values)
    back = u32_from_bytes(data)
    assert back.dtype == np.uint32 and back.tolist() == values
    back += 1  # writable: the ring adds into it
    assert (back - 1).tolist() == values


def test_bytes_that_are_not_whole_u32_values_are_an_integrity_error():
    with pytest.raises(IntegrityError, match="not a whole number of uint32 values"):
        u32_from_bytes(b"\x00" * 7)


def test_the_context_names_run_round_stage_and_both_parties():
    assert context("r", 3, "ring-hop", sender="a", recipient="b") == {
        "run": "r", "round": 3, "stage": "ring-hop", "from": "a", "to": "b",
    }


def test_a_contribution_keeps_its_metadata_and_vector():
    y = np.array([0, 1, 2**32 - 1], dtype=np.uint32)
    meta, back = decode_record(encode_record({"samples": 3, "train_seconds": 0.5}, y))
    assert meta == {"samples": 3, "train_seconds": 0.5} and back.tolist() == y.tolist()
    with pytest.raises(IntegrityError, match="kept vector record is malformed"):
        decode_record(b"\x00\x00")


def test_the_survivor_set_is_canonical_whatever_the_order():
    assert survivor_set(["b", "a"], ["c"], model="m", view="v") == survivor_set(["a", "b"], ["c"], model="m", view="v")


def test_the_survivor_set_binds_both_lists_in_a_body_whose_size_does_not_grow_with_the_accounts():
    names = [f"account-{i:04d}" for i in range(1000)]
    body = survivor_set(names[:-1], names[-1:], model="m", view="v")

    assert len(body) == len(survivor_set(names[:2], names[2:3], model="m", view="v")) + 2  # "999" against "2"
    assert body != survivor_set(names, [], model="m", view="v")  # a dropped account moved to the survivors
    assert body != survivor_set(names[1:-1], names[:1] + names[-1:], model="m", view="v")
    assert body != survivor_set(names[:-2] + ["account-9999"], names[-1:], model="m", view="v")  # same sizes
    assert body != survivor_set(names[:-1], names[-1:], model="m2", view="v")
