"""Consistency check: a survivor signs one survivor set per round, after checking what it can of it."""

from __future__ import annotations

import pytest

from fedring.errors import IntegrityError
from fedring.layout import Stage, consistency_record, consistency_signature
from fedring.round.consistency import sign_survivors
from fedring.round.wire import survivor_set
from tests.round.conftest import ACCOUNTS


def _sign(fed, name, survivors, dropped=()):
    return sign_survivors(fed.parties[name], fed.plan(), survivors=list(survivors), dropped=list(dropped), host="host")


def test_every_survivor_signs_the_same_set_once_and_a_retry_rewrites_nothing(fed):
    fed.contribute_all()
    fed.ring()
    signatures = fed.sign_all()

    again = _sign(fed, "alpha", ACCOUNTS)

    assert sorted(signatures) == list(ACCOUNTS) and again["reused"] is True
    assert fed.parties["alpha"].store.get(consistency_signature("unit", 1)) == signatures["alpha"]


def test_a_second_different_survivor_set_is_refused(fed):
    fed.contribute_all()
    fed.ring()
    alpha = fed.parties["alpha"]
    other = survivor_set(["alpha", "beta"], ["gamma"], model="m", view="v")
    alpha.keep(consistency_record("unit", 1), other, rnd=1, stage=Stage.CONSISTENCY)  # signed earlier

    with pytest.raises(IntegrityError, match="second, different survivor set"):
        _sign(fed, "alpha", ACCOUNTS)
    assert not alpha.store.exists(consistency_signature("unit", 1))


@pytest.mark.parametrize(
    ("survivors", "dropped", "message"),
    [
        (["alpha", "beta", "gamma", "gamma"], [], "appears twice"),
        (["alpha", "beta", "gamma"], ["gamma"], "both survived and dropped"),
        (["alpha", "beta", "gamma", "zeta"], [], "never advertised"),
        (["beta", "gamma"], ["alpha"], "alpha is listed as dropped although it takes part"),
        (["alpha"], ["beta", "gamma"], "fewer than the threshold"),
        (["alpha", "beta"], [], "gamma shared its secrets, but the host leaves it out"),
    ],
)
def test_a_malformed_or_contradicted_set_is_refused_with_what_is_wrong(fed, survivors, dropped, message):
    fed.contribute_all()
    fed.ring()
    with pytest.raises(IntegrityError, match=message):
        _sign(fed, "alpha", survivors, dropped)


def test_a_survivor_set_that_contradicts_where_a_hop_sent_its_sum_is_refused(fed):
    plan = fed.contribute_all()
    live = list(plan.ring_plan.rings[0])
    fed.ring(failed={live[1]})  # live[0] re-sealed past live[1]

    with pytest.raises(IntegrityError, match=f"went to {live[2]}, past {live[1]}"):
        _sign(fed, live[0], ACCOUNTS)  # the host now claims live[1] survived
