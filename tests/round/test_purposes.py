"""Sums without training: federated evaluation and statistics through the same protocol, in a namespace of their own."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fedring.errors import ConfigError, IntegrityError
from fedring.layout import PURPOSES, Stage, advertisement, advertisements_in, aggregate_model, round_label, shares_out
from fedring.round import advertise, share_keys
from fedring.round.evaluate import evaluation_length, evaluation_sums
from fedring.round.model import open_model
from fedring.round.statistics import statistics_sums
from fedring.round.wire import decode_bundle, encode_bundle
from fedring.secagg.shamir import ShareBundle
from fedring.workloads import sums
from fedring.workloads.federation import federation_workload
from tests.round.conftest import ACCOUNTS


def _sub_sum(fed, purpose: str, length: int) -> np.ndarray:
    sub = replace(fed, purpose=purpose, seeded=None, survivors=[], last_hops=[])
    sub.contribute_all()
    sub.ring()
    sub.reveal_all(sub.sign_all())
    return sub.totals(length)


def test_federated_evaluation_equals_the_plaintext_sum_of_the_accounts_counts(fed):
    # Prepare: round 1 trained and aggregated (not committed: evaluation comes before the commit).
    fed.full_round()
    fw = federation_workload(fed.cfg)
    state = open_model(fed.host, fed.host.store.get(aggregate_model("unit", 1)), rnd=1, host="host")
    # Execute
    totals = _sub_sum(fed, "eval", evaluation_length(fw))
    # Assert: the exact sum of what each account computed on its own eval split, counts bit for bit
    each = [evaluation_sums(fw, fed.parties[n].store, fw.layout.decode(state)) for n in ACCOUNTS]
    assert totals.tolist() == np.sum(each, axis=0).tolist()
    found = sums.decode(totals, {})
    assert found.examples == 200 and 0 < found.correct < 200  # eval_limit 200, split over the three accounts
    assert all(0 < e[0] < 200 for e in each)


def test_federated_statistics_equal_the_plaintext_sum_of_the_accounts_counts(fed):
    fw = federation_workload(fed.cfg)

    totals = _sub_sum(fed, "stats", fw.statistics_spec().size)

    each = [statistics_sums(fw, fed.parties[n].store) for n in ACCOUNTS]
    assert totals.tolist() == np.sum(each, axis=0).tolist()
    assert totals[0] == 300 and totals[1:].sum() == 300  # rows, then rows per digit


def test_a_statement_of_another_purpose_is_refused(fed):
    # Prepare: every account advertises in the statistics sum; then round 1's training starts.
    stats = replace(fed, purpose="stats")
    stats.advertise_all()
    stats_bundle = encode_bundle({n: fed.parties[n].store.get(advertisement("unit", "0000-stats")) for n in ACCOUNTS})
    plan = fed.plan()
    fed.broadcast()
    for name in ACCOUNTS:
        advertise.advertise(fed.parties[name], plan, host="host")
    # Execute: the host relays the statistics advertisements as round 1's.
    for name in ACCOUNTS:
        fed.parties[name].store.put(advertisements_in("unit", 1), stats_bundle)
    # Assert: refused by every account before it shares anything, naming the sum the statement was made for.
    for name in ACCOUNTS:
        with pytest.raises(IntegrityError, match=r"advertise statement from .*: made for .*'round': '0000-stats'.*\(replayed or moved\)"):
            share_keys.share(fed.parties[name], plan, host="host")
    assert not any(fed.parties[n].store.exists(shares_out("unit", 1)) for n in ACCOUNTS)
    # ...and the other way round: round 1's statement does not verify as the evaluation of round 1.
    blob = fed.parties["alpha"].store.get(advertisement("unit", 1))
    with pytest.raises(IntegrityError, match="replayed or moved"):
        fed.host.verify(blob, Stage.ADVERTISE, "alpha", rnd=round_label(1, "eval"))


def test_a_share_sealed_for_the_training_round_does_not_open_in_its_evaluation(fed):
    fed.share_all()
    share_keys.relay_shares(fed.host, fed.seeded, list(ACCOUNTS))
    alpha = fed.parties["alpha"]
    relayed = decode_bundle(alpha.store.get("inbox/unit/0001/shares/bundle"))
    owner, blob = next(iter(relayed.items()))

    assert alpha.receive(owner, blob, rnd=1, stage=Stage.SHARES)  # opens in its own round
    with pytest.raises(IntegrityError):
        alpha.receive(owner, blob, rnd=round_label(1, "eval"), stage=Stage.SHARES)


def test_labels_name_sums_apart_in_keys_and_refuse_unknown_purposes():
    assert advertisement("r", 3) == "outbox/r/0003/advertise/advertisement"
    assert advertisement("r", round_label(3, "eval")) == "outbox/r/0003-eval/advertise/advertisement"
    assert round_label(3) == 3 and round_label(0, "stats") == "0000-stats"
    with pytest.raises(ConfigError, match="purpose 'train' is not one of"):
        round_label(3, "train")


@given(st.integers(min_value=0, max_value=2**40), st.sampled_from([p for p in PURPOSES if p]))
def test_a_label_never_reads_as_a_packed_round_number(rnd, purpose):
    label = round_label(rnd, purpose)
    bundle = ShareBundle("run", label, "a", "b", 1, 2, bytes(32), bytes(32))

    assert len(label.encode()) != 8
    assert ShareBundle.from_bytes(bundle.to_bytes()) == bundle
    assert ShareBundle.from_bytes(replace(bundle, rnd=rnd).to_bytes()).rnd == rnd
