"""Reveal: self-mask shares of survivors, key shares of the dropped, never both for one peer."""

from __future__ import annotations

import pytest

from fedring.errors import RevealRefused
from fedring.layout import Stage, revealed_shares
from fedring.round.reveal import collect_reveals, reveal
from fedring.secagg import RevealedShare
from fedring.secagg.shamir import KEY, SELF


def test_a_survivor_reveals_self_shares_of_survivors_and_key_shares_of_the_dropped(fed):
    plan = fed.advertise_all()
    alpha = fed.parties["alpha"]

    result = reveal(alpha, plan, survivors=["alpha", "beta"], dropped=["gamma"], host="host")

    assert result["reused"] is False
    (opened,) = collect_reveals(fed.host, plan, ["alpha"]).values()
    kinds = {owner: RevealedShare.from_bytes(blob).kind for owner, blob in opened.items()}
    assert kinds == {"alpha": SELF, "beta": SELF, "gamma": KEY}


def test_a_rerun_with_the_same_lists_is_reused_and_other_lists_are_refused(fed):
    plan = fed.advertise_all()
    alpha = fed.parties["alpha"]
    reveal(alpha, plan, survivors=["alpha", "beta"], dropped=["gamma"], host="host")
    written = alpha.store.get(revealed_shares("unit", 1))

    again = reveal(alpha, plan, survivors=["alpha", "beta"], dropped=["gamma"], host="host")
    with pytest.raises(RevealRefused):
        reveal(alpha, plan, survivors=["alpha", "gamma"], dropped=["beta"], host="host")

    assert again == {"reused": True, "bytes_sent": 0}
    assert alpha.store.get(revealed_shares("unit", 1)) == written
    assert alpha.store.list(f"outbox/unit/0001/{Stage.REVEAL}/") == [revealed_shares("unit", 1)]
