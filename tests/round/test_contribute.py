"""Contribute: pairwise masks cancel in the sum; what remains is the updates, the self masks, and exact statistics."""

from __future__ import annotations

import numpy as np
import pytest

from fedring.errors import NonFiniteUpdate
from fedring.layout import Stage, contribution_meta, masked_vector, round_secrets
from fedring.round import contribute, train
from fedring.round.wire import decode_record
from fedring.secagg import RoundSecrets, exact, keystream_u32, quantise
from fedring.workloads.federation import federation_workload
from tests.round.conftest import ACCOUNTS


def _y(fed, name):
    return decode_record(fed.parties[name].recall(masked_vector("unit", 1), rnd=1, stage=Stage.CONTRIBUTE))[1]


def test_pairwise_masks_cancel_leaving_updates_self_masks_and_the_statistics_section(fed, trained):
    plan = fed.contribute_all()

    total = sum(_y(fed, n) for n in ACCOUNTS)
    expected = np.zeros_like(total)
    clipped_total = 0
    for name in ACCOUNTS:
        start, after = trained[(name, 1)]
        q, clipped = quantise(after - start, weight=plan.weight(name), clip=plan.clip, frac_bits=plan.frac_bits)
        clipped_total += clipped
        secrets = RoundSecrets.from_bytes(fed.parties[name].recall(round_secrets("unit", 1), rnd=1, stage=Stage.ADVERTISE))
        assert np.count_nonzero(_y(fed, name)[: q.size] == q) < q.size // 1000  # masked: nothing like q itself
        expected[: q.size] += q
        expected += keystream_u32(secrets.self_seed, total.size)
    layout = federation_workload(fed.cfg).layout
    words = train.section_size(layout) * exact.LIMBS
    assert np.array_equal(total[:-words], expected[:-words])
    section = total[-words:] - expected[-words:]  # the self masks removed: the exact section's sum
    totals = train.read_section(exact.from_words(section, len(ACCOUNTS)), layout)
    assert totals.clipped == clipped_total and totals.sums.loss_sum > 0 and totals.sums.examples == 300
    # each batch-norm counter advanced by the optimiser steps of every account: ceil(100 / 64) = 2 each
    assert totals.increments.tolist() == [3 * 2, 3 * 2]


def test_the_public_metadata_holds_no_loss_and_a_retry_trains_nothing(fed, trained):
    fed.contribute_all()
    alpha = fed.parties["alpha"]
    trained.clear()

    again = contribute.contribute(alpha, fed.plan(), host="host", vector=contribute.vector_for(fed.cfg, fed.plan(), host="host"))

    assert trained == {} and again["reused"] is True
    assert set(contribute.published_meta(fed.host, fed.plan(), "alpha")) == {"samples", "train_seconds"}
    assert alpha.store.exists(contribution_meta("unit", 1))


def test_an_account_whose_training_diverges_refuses_to_contribute(fed, monkeypatch):
    fed.share_all()
    real = train.train_local

    def diverged(workload, store, start, **kwargs):
        update = real(workload, store, start, **kwargs)
        update.state.floats[7] = np.nan
        return update

    monkeypatch.setattr(train, "train_local", diverged)
    with pytest.raises(NonFiniteUpdate, match="1 NaN or infinite coordinate"):
        contribute.contribute(fed.parties["beta"], fed.plan(), host="host",
                              vector=contribute.vector_for(fed.cfg, fed.plan(), host="host"))
    assert not fed.parties["beta"].store.exists(masked_vector("unit", 1))
