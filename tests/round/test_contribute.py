"""Contribute: pairwise masks cancel in the sum; what remains is the updates and the self masks."""

from __future__ import annotations

import numpy as np

from fedring.layout import Stage, contribution_meta, masked_vector, round_secrets
from fedring.round.contribute import contribute, published_meta
from fedring.round.wire import u32_from_bytes
from fedring.secagg import RoundSecrets, keystream_u32, quantise
from tests.round.conftest import ACCOUNTS


def _contribute_all(fed, plan):
    return {
        n: contribute(fed.parties[n], plan, training=fed.cfg.training, seed=fed.cfg.seed, host=fed.cfg.host.name)
        for n in ACCOUNTS
    }


def test_pairwise_masks_cancel_in_the_sum_leaving_updates_and_self_masks(fed, trained):
    plan = fed.advertise_all()

    results = _contribute_all(fed, plan)

    total = np.zeros_like(u32_from_bytes(fed.parties["alpha"].recall(masked_vector("unit", 1), rnd=1, stage=Stage.CONTRIBUTE)))
    expected = np.zeros_like(total)
    for name in ACCOUNTS:
        y = u32_from_bytes(fed.parties[name].recall(masked_vector("unit", 1), rnd=1, stage=Stage.CONTRIBUTE))
        start, after = trained[(name, 1)]
        q, clipped = quantise(after - start, weight=plan.weight(name), clip=plan.clip, frac_bits=plan.frac_bits)
        assert results[name]["clipped"] == clipped and results[name]["samples"] == fed.roster[name]
        assert np.count_nonzero(y == q) < y.size // 1000  # masked: nothing like q itself
        secrets = RoundSecrets.from_bytes(fed.parties[name].recall(round_secrets("unit", 1), rnd=1, stage=Stage.ADVERTISE))
        total += y
        expected += q + keystream_u32(secrets.self_seed, q.size)
    assert np.array_equal(total, expected)


def test_a_second_call_reuses_the_published_contribution_and_trains_nothing(fed, trained):
    plan = fed.advertise_all()
    alpha = fed.parties["alpha"]
    first = contribute(alpha, plan, training=fed.cfg.training, seed=0, host="host")
    trained.clear()

    again = contribute(alpha, plan, training=fed.cfg.training, seed=0, host="host")

    assert again == {**{k: v for k, v in first.items() if k != "reused"}, "reused": True}
    assert trained == {}
    assert published_meta(fed.host, plan, "alpha")["samples"] == fed.roster["alpha"]
    assert alpha.store.exists(contribution_meta("unit", 1))
