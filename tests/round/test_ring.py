"""Ring hop: partial sums pass along the ring sealed and signed hop to hop; a re-seal never adds twice."""

from __future__ import annotations

import numpy as np
import pytest

from fedring.errors import IntegrityError
from fedring.layout import Stage, masked_vector, partial_in, partial_out
from fedring.round.ring import ring_hop, ring_sums
from fedring.round.wire import decode_record


def _y(fed, name):
    return decode_record(fed.parties[name].recall(masked_vector("unit", 1), rnd=1, stage=Stage.CONTRIBUTE))[1]


def test_the_host_receives_the_sum_of_every_masked_vector(fed):
    plan = fed.contribute_all()

    survivors = fed.ring()

    (total,) = ring_sums(fed.host, plan, fed.last_hops)
    assert np.array_equal(total, sum(_y(fed, n) for n in survivors))


def test_a_bypassed_hop_is_left_out_and_the_previous_partial_sum_is_not_added_twice(fed):
    plan = fed.contribute_all()
    live = list(plan.ring_plan.rings[0])

    fed.ring(failed={live[1]})

    first = fed.parties[live[0]]
    assert first.store.exists(partial_out("unit", 1, live[1])) and first.store.exists(partial_out("unit", 1, live[2]))
    (total,) = ring_sums(fed.host, plan, fed.last_hops)
    assert np.array_equal(total, _y(fed, live[0]) + _y(fed, live[2]))
    assert ring_hop(first, fed.plan(), to=live[2], came_from=None, host="host") == {"reused": True, "bytes_sent": 0}


def test_a_partial_sum_relabelled_by_the_host_as_from_another_hop_is_refused(fed):
    plan = fed.contribute_all()
    live = list(plan.ring_plan.rings[0])
    ring_hop(fed.parties[live[0]], fed.plan(), to=live[1], came_from=None, host="host")
    blob = fed.host.view(live[0]).get(partial_out("unit", 1, live[1]))
    fed.host.view(live[1]).put(partial_in("unit", 1, live[0]), blob)
    fed.host.view(live[2]).put(partial_in("unit", 1, live[0]), blob)  # re-routed past live[1]

    with pytest.raises(IntegrityError, match=f"ring-hop statement from {live[0]}: made for .*'to': '{live[1]}'.* \\(replayed or moved\\)"):
        ring_hop(fed.parties[live[2]], fed.plan(), to="host", came_from=live[0], host="host")
