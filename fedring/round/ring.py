"""Ring hop: each account adds its masked vector to the partial sum it received.

Hop k opens S_{k-1} (sealed to it), computes S_k = S_{k-1} + y_k mod 2^32, keeps S_k
sealed in ``private/`` and seals it to the next hop; the last hop seals to the host.
The host only moves sealed objects (``relay_partial``) and follows the routing of
``fedring.secagg.ring.ring_route``: when a hop fails, the previous live hop re-seals its
kept partial sum to the hop after (``ring_hop`` called again with another ``to``),
never adding twice.
"""

from __future__ import annotations

import numpy as np

from fedring.layout import Stage, masked_vector, partial_in, partial_kept, partial_out, ring_sum
from fedring.round.party import Host, Party
from fedring.round.plan import RoundPlan
from fedring.round.wire import u32_from_bytes, u32_to_bytes


def ring_hop(party: Party, plan: RoundPlan, *, to: str, came_from: str | None) -> dict:
    """Client: add this account's masked vector to the partial sum it received and seal it to ``to``.

    ``came_from`` is the hop whose partial sum the host relayed here (None for the first
    live hop). Called again with another ``to`` when the next hop failed: the partial sum kept
    (sealed) in ``private/`` is re-sealed to the new recipient, never added twice.
    """
    rnd = plan.rnd
    out_key = partial_out(plan.run, rnd, to)
    if party.store.exists(out_key):
        return {"reused": True, "bytes_sent": 0}
    kept = partial_kept(plan.run, rnd)
    if party.store.exists(kept):
        partial = party.recall(kept, rnd=rnd, stage=Stage.RING_HOP)
        reused = True
    else:
        y = u32_from_bytes(party.recall(masked_vector(plan.run, rnd), rnd=rnd, stage=Stage.CONTRIBUTE))
        if came_from is not None:
            incoming = party.store.get(partial_in(plan.run, rnd, came_from))
            y += u32_from_bytes(party.open_from(came_from, incoming, rnd=rnd, stage=Stage.RING_HOP))  # wraps mod 2^32
        partial = u32_to_bytes(y)
        party.keep(kept, partial, rnd=rnd, stage=Stage.RING_HOP)
        reused = False
    sealed = party.seal_to(to, partial, rnd=rnd, stage=Stage.RING_HOP)
    party.store.put(out_key, sealed)
    return {"reused": reused, "bytes_sent": len(sealed)}


def relay_partial(host: Host, plan: RoundPlan, *, sender: str, recipient: str) -> int:
    """Host: move ``sender``'s sealed partial sum to ``recipient``'s inbox (or the host's bucket)."""
    blob = host.view(sender, rnd=plan.rnd).get(partial_out(plan.run, plan.rnd, recipient))
    if recipient == host.name:
        host.store.put(ring_sum(plan.run, plan.rnd, sender), blob)
    else:
        host.view(recipient, rnd=plan.rnd).put(partial_in(plan.run, plan.rnd, sender), blob)
    return len(blob)


def ring_sums(host: Host, plan: RoundPlan, last_hops: list[str]) -> list[np.ndarray]:
    """Host: each ring's final sum, opened (sealed to the host by the ring's last live hop)."""
    rnd = plan.rnd
    return [
        u32_from_bytes(host.open_from(s, host.store.get(ring_sum(plan.run, rnd, s)), rnd=rnd, stage=Stage.RING_HOP))
        for s in last_hops
    ]
