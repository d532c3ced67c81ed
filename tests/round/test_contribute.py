"""Contribute: pairwise masks cancel in the sum; what remains is the updates, the self masks, and exact statistics."""

from __future__ import annotations

import numpy as np
import pytest

from fedring.errors import NonFiniteUpdate
from fedring.layout import Stage, contribution_meta, masked_vector, round_secrets
from fedring.round import contribute, train
from fedring.round.wire import decode_record
from fedring.secagg import RoundSecrets, keystream_u32, quantise
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
    words = contribute.section_words()
    assert np.array_equal(total[:-words], expected[:-words])
    section = total[-words:] - expected[-words:]  # the self masks removed: the exact section's sum
    stats = contribute.read_stats(section, len(ACCOUNTS))
    assert stats["clipped"] == clipped_total and stats["loss_sum"] > 0


def test_the_public_metadata_holds_no_loss_and_a_retry_trains_nothing(fed, trained):
    fed.contribute_all()
    alpha = fed.parties["alpha"]
    trained.clear()

    again = contribute.contribute(alpha, fed.plan(), training=fed.cfg.training, seed=0, host="host")

    assert trained == {} and again["reused"] is True
    assert set(contribute.published_meta(fed.host, fed.plan(), "alpha")) == {"samples", "train_seconds"}
    assert alpha.store.exists(contribution_meta("unit", 1))


def test_an_account_whose_training_diverges_refuses_to_contribute(fed, monkeypatch):
    fed.share_all()
    real = train.train_on_partition

    def diverged(store, global_vector, **kwargs):
        vector, result = real(store, global_vector, **kwargs)
        vector[7] = np.nan
        return vector, result

    monkeypatch.setattr(train, "train_on_partition", diverged)
    with pytest.raises(NonFiniteUpdate, match="1 NaN or infinite coordinate"):
        contribute.contribute(fed.parties["beta"], fed.plan(), training=fed.cfg.training, seed=0, host="host")
    assert not fed.parties["beta"].store.exists(masked_vector("unit", 1))
