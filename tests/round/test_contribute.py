"""Contribute: pairwise masks cancel in the sum; what remains is the updates, the self masks, and exact statistics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedring.errors import IntegrityError, NonFiniteUpdate
from fedring.ml.model import build_model
from fedring.ml.state import StateLayout
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


@settings(max_examples=50, deadline=None)
@given(
    increments=st.lists(st.integers(0, 2**40), min_size=2, max_size=2),
    training=st.lists(st.integers(0, 2**40), min_size=3, max_size=3),
    clipped=st.integers(0, 2**20),
    evaluation=st.lists(st.integers(0, 2**40), max_size=6),
)
def test_an_exact_section_reads_back_with_or_without_a_carried_evaluation(increments, training, clipped, evaluation):
    layout = StateLayout.of(build_model(0))  # two integer buffers (batch norm's counters)
    totals = np.array([*increments, *training, clipped, *evaluation], dtype=np.int64)

    found = train.read_section(totals, layout, len(evaluation))

    assert found.increments.tolist() == increments and found.clipped == clipped
    assert found.sums.examples == training[0]
    assert (found.evaluation is None) if not evaluation else found.evaluation.tolist() == evaluation
    with pytest.raises(IntegrityError, match=f"the exact section holds {totals.size} values, {totals.size + 1} expected"):
        train.read_section(totals, layout, len(evaluation) + 1)
