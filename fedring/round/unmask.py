"""Unmask and aggregate: the host turns the ring sums into the new global model.

Bonawitz et al. 2017 (https://eprint.iacr.org/2017/281), Unmasking. The host opens the
ring sums and the revealed shares (each checked against its author's pin), rebuilds b_i
of the survivors (each checked against the commitment its owner advertised) and a_j of
the dropped, removes the self masks and the pairwise masks between survivors and
dropped (``fedring.secagg.unmask``) and obtains the survivors' exact sum. It refuses a
sum that clipped updates cannot produce (``check_aggregate``), adds the mean update
(``mean_update``) to the previous global model, seals the new one to the participants
and signs its digest. The host learns this sum, and the totals of the exact section
(training loss, clipped coordinates), nothing about one account.
"""

from __future__ import annotations

import numpy as np

from fedring.layout import aggregate_model, round_model
from fedring.round.advertise import host_view_of
from fedring.round.contribute import read_stats, section_words
from fedring.round.model import open_model, seal_model
from fedring.round.party import Host
from fedring.round.plan import RoundPlan
from fedring.round.reveal import collect_reveals
from fedring.round.ring import ring_sums
from fedring.secagg import check_aggregate, mean_update, unmask


def unmask_sum(
    host: Host, plan: RoundPlan, *, last_hops: list[str], survivors: list[str], dropped: list[str],
    revealers: list[str], advertised: list[str],
) -> tuple[np.ndarray, dict]:
    """The survivors' mean update and training statistics, from the ring sums and revealed shares."""
    view = host_view_of(host, plan, advertised)
    seeded = view.plan
    total = unmask(
        ring_sums(host, seeded, last_hops),
        revealed=collect_reveals(host, seeded, revealers),
        roster=list(seeded.roster),
        survivors=survivors,
        dropped=dropped,
        public_keys=view.public_keys,
        neighbours=seeded.graph,
        threshold=seeded.threshold,
        run=seeded.run,
        rnd=seeded.rnd,
        commitments=view.commitments,
    )
    model, section = total[: -section_words()], total[-section_words():]
    weight = sum(seeded.weight(s) for s in survivors)
    check_aggregate(model, clip=seeded.clip, frac_bits=seeded.frac_bits, weight=weight, accounts=len(survivors))
    return mean_update(model, frac_bits=seeded.frac_bits, weight=weight), read_stats(section, len(survivors))


def unmask_and_aggregate(host: Host, plan: RoundPlan, **who: list[str]) -> tuple[str, dict]:
    """Unmask the round, apply the mean update to the global model, seal it; returns its key and statistics.

    Safe to repeat: the new model is written once, and a rerun adopts it.
    """
    previous = open_model(host, host.store.get(round_model(plan.run, plan.rnd - 1)), rnd=plan.rnd - 1, host=host.name)
    update, stats = unmask_sum(host, plan, **who)
    following = (previous + update).astype(np.float32)
    out = aggregate_model(plan.run, plan.rnd)
    host.store.put_once(out, seal_model(host, following, rnd=plan.rnd, participants=list(plan.roster)))
    return out, {**stats, "update_norm": float(np.linalg.norm(update))}
