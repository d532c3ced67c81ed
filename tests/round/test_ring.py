"""Ring hop: partial sums pass along the ring sealed hop to hop; a re-seal never adds twice."""

from __future__ import annotations

import numpy as np
import pytest

from fedring.errors import IntegrityError
from fedring.layout import Stage, masked_vector, partial_in, partial_out
from fedring.round.contribute import contribute
from fedring.round.ring import relay_partial, ring_hop, ring_sums
from fedring.round.wire import u32_from_bytes
from fedring.secagg import Hop, Relay, Reseal, ring_route
from tests.round.conftest import ACCOUNTS


@pytest.fixture
def contributed(fed, trained):
    plan = fed.advertise_all()
    for n in ACCOUNTS:
        contribute(fed.parties[n], plan, training=fed.cfg.training, seed=0, host="host")
    return plan


def _y(fed, name):
    return u32_from_bytes(fed.parties[name].recall(masked_vector("unit", 1), rnd=1, stage=Stage.CONTRIBUTE))


def _run(fed, plan, live, failed=()):
    for step in ring_route(live, host="host", failed=failed):
        if isinstance(step, Relay):
            relay_partial(fed.host, plan, sender=step.sender, recipient=step.recipient)
        elif not (isinstance(step, Hop) and step.account in failed):
            ring_hop(fed.parties[step.account], plan, to=step.to, came_from=step.came_from)


def test_the_host_receives_the_sum_of_every_masked_vector(fed, contributed):
    (live,) = contributed.ring_plan.rings

    _run(fed, contributed, list(live))

    (total,) = ring_sums(fed.host, contributed, [live[-1]])
    assert np.array_equal(total, sum(_y(fed, n) for n in ACCOUNTS))


def test_a_bypassed_hop_is_left_out_and_the_previous_partial_sum_is_not_added_twice(fed, contributed):
    live = list(contributed.ring_plan.rings[0])
    middle = live[1]

    _run(fed, contributed, live, failed={middle})

    first = fed.parties[live[0]]
    assert first.store.exists(partial_out("unit", 1, middle)) and first.store.exists(partial_out("unit", 1, live[2]))
    (total,) = ring_sums(fed.host, contributed, [live[2]])
    assert np.array_equal(total, _y(fed, live[0]) + _y(fed, live[2]))
    assert ring_hop(first, contributed, to=live[2], came_from=None) == {"reused": True, "bytes_sent": 0}


def test_a_partial_sum_relabelled_by_the_host_as_from_another_hop_fails_to_open(fed, contributed):
    live = list(contributed.ring_plan.rings[0])
    ring_hop(fed.parties[live[0]], contributed, to=live[1], came_from=None)
    blob = fed.host.view(live[0]).get(partial_out("unit", 1, live[1]))
    fed.host.view(live[1]).put(partial_in("unit", 1, live[2]), blob)  # claims it came from the third hop

    with pytest.raises(IntegrityError, match="envelope failed authentication"):
        ring_hop(fed.parties[live[1]], contributed, to=live[2], came_from=live[2])


def test_reseal_steps_only_follow_failures():
    assert not any(isinstance(s, Reseal) for s in ring_route(list(ACCOUNTS), host="host"))
