"""Advertise: secrets kept sealed, shares sealed to their holders, the host relays only that."""

from __future__ import annotations

import json

from fedring.layout import own_shares, round_keys, round_public_key, round_secrets, shares_in, shares_out
from fedring.round import advertise
from fedring.round.wire import decode_shares
from fedring.secagg import RoundSecrets, public_key_bytes
from fedring.layout import Stage
from tests.round.conftest import ACCOUNTS


def test_advertise_keeps_secrets_sealed_and_writes_the_public_key_last(fed):
    alpha, plan = fed.parties["alpha"], fed.plan()

    first = advertise.advertise(alpha, plan)
    again = advertise.advertise(alpha, plan)

    assert first["reused"] is False and first["bytes_sent"] > 0
    assert again == {"reused": True, "bytes_sent": 0}
    secrets = RoundSecrets.from_bytes(alpha.recall(round_secrets("unit", 1), rnd=1, stage=Stage.ADVERTISE))
    assert alpha.store.get(round_public_key("unit", 1)) == public_key_bytes(secrets)
    assert secrets.private_key not in alpha.store.get(round_secrets("unit", 1))  # sealed, not plain
    assert alpha.store.exists(own_shares("unit", 1, "alpha"))
    assert set(decode_shares(alpha.store.get(shares_out("unit", 1)))) == {"beta", "gamma"}


def test_relay_gives_each_advertiser_the_key_list_and_the_shares_sealed_to_it(fed):
    plan = fed.advertise_all()

    for name in ACCOUNTS:
        party = fed.parties[name]
        keys = json.loads(party.store.get(round_keys("unit", 1)))
        assert sorted(keys) == list(ACCOUNTS)
        assert advertise.round_keys(party, plan)[name] == party.store.get(round_public_key("unit", 1))
        held = decode_shares(party.store.get(shares_in("unit", 1)))
        assert sorted(held) == sorted(set(ACCOUNTS) - {name})
        for owner, sealed in held.items():  # each share opens only as sent by its owner, to this holder
            assert party.open_from(owner, sealed, rnd=1, stage=Stage.SHARES)


def test_an_account_that_did_not_advertise_gets_nothing_and_is_left_out_of_the_bundles(fed):
    plan = fed.advertise_all(accounts=("alpha", "beta"))

    gamma = fed.parties["gamma"]
    assert not gamma.store.exists(round_keys("unit", 1)) and not gamma.store.exists(shares_in("unit", 1))
    assert sorted(decode_shares(fed.parties["alpha"].store.get(shares_in("unit", 1)))) == ["beta"]
    assert sorted(advertise.advertised_keys(fed.host, plan, ["alpha", "beta"])) == ["alpha", "beta"]
