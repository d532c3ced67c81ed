"""Share keys: shares made once, sealed to their holders and signed; the host relays only those."""

from __future__ import annotations

from fedring.layout import shares_in, shares_out
from fedring.round import share_keys
from fedring.round.advertise import accept_view
from fedring.round.wire import decode_bundle
from tests.round.conftest import ACCOUNTS


def test_shares_go_to_the_neighbours_each_sealed_to_it_and_signed_by_the_owner(fed):
    fed.share_all()

    for name in ACCOUNTS:
        party = fed.parties[name]
        view = accept_view(party, fed.plan(), host="host")
        assert sorted(decode_bundle(party.store.get(shares_out("unit", 1)))) == sorted(set(ACCOUNTS) - {name})
        held = share_keys.accept_shares(party, view)
        assert sorted(held) == sorted(set(ACCOUNTS) - {name})
        for owner, blob in held.items():
            assert share_keys.open_share(party, view, owner, blob)  # only this holder opens it


def test_a_retried_share_stage_reuses_what_it_published_and_the_shares_it_made(fed):
    fed.advertise_all()
    alpha = fed.parties["alpha"]
    made_first = share_keys.own_shares(alpha, accept_view(alpha, fed.plan(), host="host"))

    first = share_keys.share(alpha, fed.plan(), host="host")
    again = share_keys.share(alpha, fed.plan(), host="host")

    assert first["reused"] is False and again == {"reused": True, "bytes_sent": 0}
    assert share_keys.own_shares(alpha, accept_view(alpha, fed.plan(), host="host")) == made_first


def test_an_account_that_did_not_share_is_left_out_of_every_bundle(fed):
    fed.share_all(accounts=("alpha", "beta"))

    assert not fed.parties["gamma"].store.exists(shares_in("unit", 1))
    assert sorted(decode_bundle(fed.parties["alpha"].store.get(shares_in("unit", 1)))) == ["beta"]
