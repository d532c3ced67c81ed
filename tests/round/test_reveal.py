"""Reveal: only over a signed survivor set; self-mask shares of survivors, key shares of the dropped, never both."""

from __future__ import annotations

import pytest

from fedring.errors import IntegrityError
from fedring.layout import revealed_shares
from fedring.round.reveal import collect_reveals, reveal
from fedring.secagg import RevealedShare
from fedring.secagg.shamir import KEY, SELF


def _reveal(fed, name, signatures, survivors=None, dropped=()):
    return reveal(fed.parties[name], fed.plan(), survivors=survivors or fed.survivors, dropped=list(dropped),
                  signatures=signatures, host="host")


def test_a_survivor_reveals_self_shares_of_survivors_and_key_shares_of_the_dropped(fed):
    plan = fed.contribute_all()
    dropped = plan.ring_plan.rings[0][1]
    fed.ring(failed={dropped})
    signatures = fed.sign_all(dropped=[dropped])

    first = fed.survivors[0]
    _reveal(fed, first, signatures, dropped=[dropped])

    (opened,) = collect_reveals(fed.host, fed.seeded, [first]).values()
    kinds = {owner: RevealedShare.from_bytes(blob).kind for owner, blob in opened.items()}
    assert kinds == {s: SELF for s in fed.survivors} | {dropped: KEY}


def test_a_rerun_is_reused_and_nothing_else_can_be_revealed(fed):
    fed.contribute_all()
    fed.ring()
    signatures = fed.sign_all()
    alpha = fed.parties["alpha"]
    _reveal(fed, "alpha", signatures)
    written = alpha.store.get(revealed_shares("unit", 1))

    assert _reveal(fed, "alpha", signatures) == {"reused": True, "bytes_sent": 0}
    with pytest.raises(IntegrityError, match="another survivor set than the one it signed"):
        _reveal(fed, "alpha", signatures, survivors=["alpha", "beta"], dropped=["gamma"])
    assert alpha.store.get(revealed_shares("unit", 1)) == written


def test_without_enough_signatures_nothing_is_revealed(fed):
    fed.contribute_all()
    fed.ring()
    signatures = fed.sign_all()

    with pytest.raises(IntegrityError, match=r"holds 1 signature\(s\) over the survivor set it signed \(alpha\), 2 needed"):
        _reveal(fed, "alpha", {"alpha": signatures["alpha"]})
    assert not fed.parties["alpha"].store.exists(revealed_shares("unit", 1))


def test_a_survivor_that_never_signed_reveals_nothing(fed):
    fed.contribute_all()
    fed.ring()

    with pytest.raises(IntegrityError, match="before it signed a survivor set"):
        _reveal(fed, "alpha", {})
