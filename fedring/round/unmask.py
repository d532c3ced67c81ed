"""Unmask and aggregate: the host turns the ring sums into the new global model.

Bonawitz et al. 2017 (https://eprint.iacr.org/2017/281), Unmasking. The host opens the
ring sums and the revealed shares, rebuilds b_i of the survivors and a_j of the dropped,
removes the self masks and the pairwise masks between survivors and dropped
(``fedring.secagg.unmask``) and obtains the survivors' exact quantised sum; the mean
update (``fedring.secagg.mean_update``) is added to the previous global model, which is
sealed to the participants. The host learns this sum and nothing about one account.
"""

from __future__ import annotations

import numpy as np

from fedring.layout import aggregate_model, round_model
from fedring.round.advertise import advertised_keys
from fedring.round.model import open_model, seal_model
from fedring.round.party import Host
from fedring.round.plan import RoundPlan
from fedring.round.reveal import collect_reveals
from fedring.round.ring import ring_sums
from fedring.secagg import mean_update, unmask


def unmask_update(
    host: Host, plan: RoundPlan, *, last_hops: list[str], survivors: list[str], dropped: list[str], advertised: list[str]
) -> np.ndarray:
    """Open the ring sums and revealed shares, unmask, and return the survivors' mean update."""
    graph = {a: plan.graph[a] & set(advertised) for a in advertised}
    total = unmask(
        ring_sums(host, plan, last_hops),
        revealed=collect_reveals(host, plan, survivors),
        roster=list(plan.roster),
        survivors=survivors,
        dropped=dropped,
        public_keys=advertised_keys(host, plan, advertised),
        neighbours=graph,
        threshold=plan.threshold,
        run=plan.run,
        rnd=plan.rnd,
    )
    return mean_update(total, frac_bits=plan.frac_bits, weight=sum(plan.weight(s) for s in survivors))


def unmask_and_aggregate(host: Host, plan: RoundPlan, **who: list[str]) -> tuple[str, dict]:
    """Unmask the round, apply the mean update to the global model, seal it; idempotent.

    Returns the host key of the sealed model and the update's statistics.
    """
    out = aggregate_model(plan.run, plan.rnd)
    if host.store.exists(out):
        return out, {}
    previous = open_model(host, host.store.get(round_model(plan.run, plan.rnd - 1)), rnd=plan.rnd - 1, host=host.name)
    update = unmask_update(host, plan, **who)
    following = (previous + update).astype(np.float32)
    host.store.put(out, seal_model(host, following, rnd=plan.rnd, participants=list(plan.roster)))
    return out, {"update_norm": float(np.linalg.norm(update))}
