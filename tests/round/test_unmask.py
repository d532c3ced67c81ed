"""Unmask and aggregate: the new global model is the old one plus the survivors' mean update."""

from __future__ import annotations

import numpy as np
import pytest

from fedring.layout import round_model
from fedring.round.contribute import contribute
from fedring.round.model import open_model
from fedring.round.reveal import reveal
from fedring.round.ring import relay_partial, ring_hop
from fedring.round.unmask import unmask_and_aggregate
from fedring.secagg import Hop, Relay, error_bound, ring_route
from tests.round.conftest import ACCOUNTS


def _round(fed, failed=frozenset()):
    plan = fed.advertise_all()
    for n in ACCOUNTS:
        contribute(fed.parties[n], plan, training=fed.cfg.training, seed=0, host="host")
    (live,) = plan.ring_plan.rings
    for step in ring_route(list(live), host="host", failed=failed):
        if isinstance(step, Relay):
            relay_partial(fed.host, plan, sender=step.sender, recipient=step.recipient)
        elif not (isinstance(step, Hop) and step.account in failed):
            ring_hop(fed.parties[step.account], plan, to=step.to, came_from=step.came_from)
    survivors = sorted(set(ACCOUNTS) - set(failed))
    for n in survivors:
        reveal(fed.parties[n], plan, survivors=survivors, dropped=sorted(failed), host="host")
    last = [h for h in live if h not in failed][-1]
    key, _ = unmask_and_aggregate(
        fed.host, plan, last_hops=[last], survivors=survivors, dropped=sorted(failed), advertised=list(ACCOUNTS)
    )
    return plan, survivors, open_model(fed.host, fed.host.store.get(key), rnd=1, host="host")


def _expected(fed, plan, trained, survivors):
    start = open_model(fed.host, fed.host.store.get(round_model("unit", 0)), rnd=0, host="host").astype(np.float64)
    weight = sum(plan.weight(a) for a in survivors)
    update = sum(plan.weight(a) * np.clip(trained[(a, 1)][1] - trained[(a, 1)][0], -plan.clip, plan.clip) for a in survivors)
    return start + update / weight, error_bound(len(survivors), plan.frac_bits) / weight + 1e-6


def test_the_new_model_is_the_weighted_mean_of_the_updates(fed, trained):
    plan, survivors, new = _round(fed)

    expected, tolerance = _expected(fed, plan, trained, survivors)
    assert np.max(np.abs(new - expected)) <= tolerance


@pytest.mark.parametrize("position", [0, 1, 2])
def test_a_hop_dropped_in_the_ring_is_left_out_of_the_mean(fed, trained, position):
    dropped = fed.plan().ring_plan.rings[0][position]

    plan, survivors, new = _round(fed, failed={dropped})

    assert dropped not in survivors
    expected, tolerance = _expected(fed, plan, trained, survivors)
    assert np.max(np.abs(new - expected)) <= tolerance
