"""Key rings and authorities kept in Prefect Secret blocks (uses the session's Prefect harness)."""

from __future__ import annotations

import pytest

from blocks.key_ring import (
    authority_block_name,
    key_ring_block_name,
    load_authority,
    load_key_ring,
    save_authority,
    save_key_ring,
)
from fedring.keys import new_account_keys


@pytest.mark.usefixtures("prefect_harness")
def test_key_ring_and_authority_round_trip_through_secret_blocks() -> None:
    # Prepare
    authority, ring = new_account_keys("acme")
    ring.add(authority.issue("eval"))

    # Execute
    save_key_ring(ring, key_ring_block_name("acme"))
    save_authority(authority, authority_block_name("acme"))
    loaded_ring = load_key_ring(key_ring_block_name("acme"))
    loaded_authority = load_authority(authority_block_name("acme"))

    # Assert
    assert loaded_ring.keys() == ring.keys()
    assert loaded_authority.public_document() == authority.public_document()
