"""Unmask and aggregate: the new global model is the old one plus the survivors' mean update."""

from __future__ import annotations

import numpy as np
import pytest

from fedring.layout import round_model
from fedring.round.model import open_model
from fedring.secagg import error_bound
from fedring.workloads.federation import federation_workload


def _expected(fed, trained):
    plan = fed.seeded
    state = open_model(fed.host, fed.host.store.get(round_model("unit", 0)), rnd=0, host="host")
    start = federation_workload(fed.cfg).layout.decode(state).floats.astype(np.float64)
    weight = sum(plan.weight(a) for a in fed.survivors)
    update = sum(plan.weight(a) * np.clip(trained[(a, 1)][1] - trained[(a, 1)][0], -plan.clip, plan.clip)
                 for a in fed.survivors)
    return start + update / weight, error_bound(len(fed.survivors), plan.frac_bits) / weight + 1e-6


def test_the_new_model_is_the_weighted_mean_of_the_updates(fed, trained):
    new, stats = fed.full_round()

    expected, tolerance = _expected(fed, trained)
    assert np.max(np.abs(new - expected)) <= tolerance
    assert stats["clipped"] == 0 and stats["loss_sum"] > 0 and stats["examples"] == 300


@pytest.mark.parametrize("position", [0, 1, 2])
def test_a_hop_dropped_in_the_ring_is_left_out_of_the_mean(fed, trained, position):
    plan = fed.contribute_all()
    dropped = plan.ring_plan.rings[0][position]
    fed.ring(failed={dropped})
    fed.reveal_all(fed.sign_all(dropped=[dropped]), dropped=[dropped])

    new, _ = fed.aggregate(dropped=[dropped])

    assert dropped not in fed.survivors
    expected, tolerance = _expected(fed, trained)
    assert np.max(np.abs(new - expected)) <= tolerance
