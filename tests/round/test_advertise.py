"""Advertise: secrets kept sealed and drawn once; signed advertisements; a view each account holds to."""

from __future__ import annotations

import json

from fedring.layout import Stage, advertisement, advertisements_in, round_secrets
from fedring.round import advertise
from fedring.round.wire import decode_bundle, encode_bundle
from fedring.secagg import RoundSecrets, public_key_bytes
from tests.round.conftest import ACCOUNTS


def test_advertise_keeps_secrets_sealed_and_signs_its_key_commitment_and_model(fed):
    alpha, plan = fed.parties["alpha"], fed.plan()
    fed.broadcast()

    first = advertise.advertise(alpha, plan, host="host")
    again = advertise.advertise(alpha, plan, host="host")

    assert first["reused"] is False and again == {"reused": True, "bytes_sent": 0}
    secrets = RoundSecrets.from_bytes(alpha.recall(round_secrets("unit", 1), rnd=1, stage=Stage.ADVERTISE))
    body = json.loads(alpha.verify(alpha.store.get(advertisement("unit", 1)), Stage.ADVERTISE, "alpha", rnd=1))
    assert bytes.fromhex(body["public_key"]) == public_key_bytes(secrets)
    assert secrets.private_key not in alpha.store.get(round_secrets("unit", 1))  # sealed, not plain


def test_a_retry_after_the_secrets_were_kept_adopts_them(fed):
    alpha, plan = fed.parties["alpha"], fed.plan()
    fed.broadcast()
    kept = advertise.round_secrets_of(alpha, plan)  # a first attempt died right after keeping its secrets

    advertise.advertise(alpha, plan, host="host")

    body = json.loads(alpha.verify(alpha.store.get(advertisement("unit", 1)), Stage.ADVERTISE, "alpha", rnd=1))
    assert bytes.fromhex(body["public_key"]) == public_key_bytes(kept)


def test_every_advertiser_accepts_the_same_view_and_the_graph_comes_from_all_keys(fed):
    seeded = fed.advertise_all()

    views = [advertise.accept_view(fed.parties[n], fed.plan(), host="host") for n in ACCOUNTS]
    assert {v.digest for v in views} == {views[0].digest}
    assert views[0].plan == seeded and seeded.members == ACCOUNTS and seeded.seed != fed.plan().seed


def test_accounts_that_kept_equal_views_share_one_parse_and_a_different_copy_gets_its_own(fed):
    """Where one process runs every account, a kept view is parsed once per content; a host that
    handed alpha other advertisements (here without gamma's) cannot make alpha read the others' view."""
    fed.advertise_all()
    plan, inbox = fed.plan(), fed.parties["alpha"].store
    relayed = decode_bundle(inbox.get(advertisements_in("unit", 1)))
    inbox.delete(advertisements_in("unit", 1))
    inbox.put(advertisements_in("unit", 1), encode_bundle({n: s for n, s in relayed.items() if n != "gamma"}))

    first = {n: advertise.accept_view(fed.parties[n], plan, host="host") for n in ACCOUNTS}
    kept = {n: advertise.accept_view(fed.parties[n], plan, host="host") for n in ACCOUNTS}

    assert kept["beta"] is kept["gamma"] and kept["beta"] == first["beta"]
    assert set(kept["beta"].public_keys) == set(ACCOUNTS)
    assert set(kept["alpha"].public_keys) == {"alpha", "beta"} == set(first["alpha"].public_keys)
    assert kept["alpha"].digest != kept["beta"].digest
