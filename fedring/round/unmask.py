"""Unmask and aggregate: the host turns the ring sums into the new global model, or into a sub-sum's totals.

Bonawitz et al. 2017 (https://eprint.iacr.org/2017/281), Unmasking. The host opens the
ring sums and the revealed shares (each checked against its author's pin), rebuilds b_i
of the survivors (each checked against the commitment its owner advertised) and a_j of
the dropped, removes the self masks and the pairwise masks between survivors and
dropped (``fedring.secagg.unmask``) and obtains the survivors' exact sum (``unmask_total``).

- A training round (``unmask_and_aggregate``) splits the sum at the model's float
  coordinates: it refuses a float section that clipped updates cannot produce
  (``check_aggregate``), adds the mean update (``mean_update``) to the previous model's
  floats and the rounded mean increment to its integer buffers (the exact section,
  ``train.read_section``), seals the new model to the participants. It learns the
  totals of the training sums and clipped coordinates (and, from round 2 with federated
  evaluation, of the evaluation sums of the previous model), nothing about one account.
- A sub-sum without training (evaluation, statistics; ``unmask_totals``) is all exact
  section: its int64 totals, kept once in the host's bucket.
"""

from __future__ import annotations

import json

import numpy as np

from fedring.errors import IntegrityError
from fedring.layout import aggregate_model, round_model, sum_totals
from fedring.ml.state import ModelState, apply_mean_increment
from fedring.round import train
from fedring.round.advertise import host_view_of
from fedring.round.evaluate import carries_evaluation, evaluation_length, federated_metrics
from fedring.round.model import open_model, seal_model
from fedring.round.party import Host
from fedring.round.plan import RoundPlan
from fedring.round.reveal import collect_reveals
from fedring.round.ring import ring_sums
from fedring.secagg import check_aggregate, exact, mean_update, unmask
from fedring.workloads.federation import federation_workload


def unmask_total(
    host: Host, plan: RoundPlan, *, last_hops: list[str], survivors: list[str], dropped: list[str],
    revealers: list[str], advertised: list[str],
) -> np.ndarray:
    """The survivors' exact sum (uint32 words), from the ring sums and revealed shares."""
    view = host_view_of(host, plan, advertised)
    seeded = view.plan
    return unmask(
        ring_sums(host, seeded, last_hops),
        revealed=collect_reveals(host, seeded, revealers),
        roster=list(seeded.roster),
        survivors=survivors,
        dropped=dropped,
        public_keys=view.public_keys,
        neighbours=seeded.graph,
        threshold=seeded.threshold,
        run=seeded.run,
        rnd=seeded.label,
        commitments=view.commitments,
    )


def unmask_and_aggregate(host: Host, plan: RoundPlan, **who: list[str]) -> tuple[str, dict]:
    """Unmask the round, apply the mean update to the global model, seal it; returns its key and training totals.

    The totals hold ``federated_previous``, the federated evaluation of the model the round
    started from, when the round carries it (``fedring.round.evaluate.carries_evaluation``).

    Safe to repeat: the new model is written once, and a rerun adopts it.
    """
    fw = federation_workload(host.cfg)
    before = round_model(plan.run, plan.rnd - 1)
    previous = fw.layout.decode(open_model(host, host.store.get(before), rnd=plan.rnd - 1, host=host.name))
    total = unmask_total(host, plan, **who)
    floats_at = fw.layout.float_size
    carried = evaluation_length(fw) if carries_evaluation(host.cfg, plan.rnd) else 0
    words = train.section_size(fw.layout, carried) * exact.LIMBS
    if total.size != floats_at + words:
        raise IntegrityError(f"round {plan.label}: the sum has {total.size} entries, {floats_at + words} expected")
    survivors = len(who["survivors"])
    weight = sum(plan.weight(s) for s in who["survivors"])
    check_aggregate(total[:floats_at], clip=plan.clip, frac_bits=plan.frac_bits, weight=weight, accounts=survivors)
    update = mean_update(total[:floats_at], frac_bits=plan.frac_bits, weight=weight)
    totals = train.read_section(exact.from_words(total[floats_at:], survivors), fw.layout, carried)
    following = ModelState(
        (previous.floats + update).astype(np.float32), apply_mean_increment(previous.ints, totals.increments, survivors)
    )
    out = aggregate_model(plan.run, plan.rnd)
    host.store.put_once(out, seal_model(host, fw.layout.encode(following), rnd=plan.rnd, participants=list(plan.roster)))
    trained = totals.sums
    found = {"loss_sum": trained.loss_sum, "examples": trained.examples, "correct": trained.correct,
             "clipped": totals.clipped, "update_norm": float(np.linalg.norm(update))}
    if totals.evaluation is not None:
        found["federated_previous"] = federated_metrics(fw, totals.evaluation, participants=who["survivors"],
                                                        dropped=who["dropped"])
    return out, found


def unmask_totals(host: Host, plan: RoundPlan, *, length: int, **who: list[str]) -> np.ndarray:
    """Unmask a sub-sum of ``length`` exact values; its int64 totals, kept once (a rerun adopts them)."""
    key = sum_totals(plan.run, plan.label)
    if not host.store.exists(key):
        total = unmask_total(host, plan, **who)
        if total.size != length * exact.LIMBS:
            raise IntegrityError(f"round {plan.label}: the sum has {total.size} entries, {length * exact.LIMBS} expected")
        totals = exact.from_words(total, len(who["survivors"]))
        record = {"totals": totals.tolist(), "survivors": who["survivors"], "dropped": who["dropped"]}
        host.store.put_once(key, json.dumps(record).encode())
    return np.array(json.loads(host.store.get(key))["totals"], dtype=np.int64)
