"""The share bundle: sealed shares of one owner (or for one holder) in a single object."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fedring.errors import IntegrityError
from fedring.secure.client import decode_shares, encode_shares

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-0123456789", min_size=1, max_size=12)


@given(st.dictionaries(names, st.binary(max_size=300), max_size=12))
def test_bundles_round_trip(shares):
    assert decode_shares(encode_shares(shares)) == shares


@pytest.mark.parametrize(
    "data",
    [b"{not json", b'["a list"]', b'{"beta": "not*base64"}', b'{"beta": 7}', b"\xff\xfe"],
)
def test_a_malformed_bundle_is_an_integrity_error(data):
    with pytest.raises(IntegrityError, match="^a share bundle is malformed: "):
        decode_shares(data)
