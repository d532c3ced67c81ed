"""Ring hop: each account adds its masked vector to the partial sum it received.

Hop k opens S_{k-1} (sealed to it and signed by hop k-1), computes
S_k = S_{k-1} + y_k mod 2^32, keeps S_k sealed in ``private/`` and sends it, sealed and
signed, to the next hop; the last hop sends to the host. The host only moves signed,
sealed objects (``relay_partial``) and follows ``fedring.secagg.ring.ring_route``: when
a hop fails, the previous live hop re-seals its kept partial sum to the hop after,
never adding twice.

Each hop checks the routing against the round's ring (from the view it accepted):
its sum may come only from an earlier hop of its own ring and go only to a later one
or to the host, and each re-seal must go further along the ring than the last. The
recipients it sealed to stay in its outbox; the consistency check compares them with
the survivor set the host announces.
"""

from __future__ import annotations

import numpy as np

from fedring.errors import IntegrityError
from fedring.layout import Stage, masked_vector, partial_in, partial_kept, partial_out, partial_out_prefix, ring_sum
from fedring.round.advertise import View, accept_view
from fedring.round.party import Host, Party
from fedring.round.plan import RoundPlan
from fedring.round.wire import decode_record, encode_record, u32_from_bytes, u32_to_bytes


def my_ring(view: View, me: str) -> tuple[str, ...]:
    plan = view.plan
    return plan.ring_plan.rings[plan.ring_plan.ring_of(me)]


def sealed_to(party: Party, plan: RoundPlan) -> list[str]:
    """Every recipient this account sealed its partial sum to in this round (from its own outbox)."""
    prefix = partial_out_prefix(plan.run, plan.label)
    return [key[len(prefix):] for key in party.store.list(prefix)]


def received_from(party: Party, plan: RoundPlan) -> str | None:
    """Whose partial sum this account added its vector to (None: it started its ring's sum, or never hopped)."""
    key = partial_kept(plan.run, plan.label)
    if not party.store.exists(key):
        return None
    return decode_record(party.recall(key, rnd=plan.label, stage=Stage.RING_HOP))[0]["came_from"]


def check_route(view: View, me: str, *, host: str, to: str, came_from: str | None, earlier: list[str]) -> None:
    """Refuse a hop the round's ring does not allow (IntegrityError names what the host asked)."""
    ring = my_ring(view, me)
    mine = ring.index(me)
    order = {h: i for i, h in enumerate(ring)} | {host: len(ring)}
    if came_from is not None and (came_from not in order or not order[came_from] < mine):
        raise IntegrityError(f"round {view.plan.label}: the host routes {came_from}'s partial sum to {me}, "
                             f"which is not an earlier hop of {me}'s ring")
    if to not in order or not order[to] > mine:
        raise IntegrityError(f"round {view.plan.label}: the host asks {me} to seal its partial sum to {to}, "
                             f"which is not a later hop of its ring nor the host")
    if any(order[to] <= order[e] for e in earlier if e in order and e != to):
        raise IntegrityError(f"round {view.plan.label}: the host asks {me} to seal its partial sum to {to}, "
                             f"back along the ring after it sealed to {', '.join(earlier)}")


def ring_hop(party: Party, plan: RoundPlan, *, to: str, came_from: str | None, host: str) -> dict:
    """Client: add this account's masked vector to the partial sum it received and send it to ``to``.

    ``came_from`` is the hop whose partial sum the host relayed here (None for the first
    live hop). Called again with another ``to`` when the next hop failed: the partial sum kept
    (sealed) in ``private/`` is re-sealed to the new recipient, never added twice.
    """
    rnd = plan.label
    out_key = partial_out(plan.run, rnd, to)
    if party.store.exists(out_key):
        return {"reused": True, "bytes_sent": 0}
    view = accept_view(party, plan, host=host)
    check_route(view, party.name, host=host, to=to, came_from=came_from, earlier=sealed_to(party, plan))
    kept = partial_kept(plan.run, rnd)
    reused = party.store.exists(kept)
    if reused:
        record = party.recall(kept, rnd=rnd, stage=Stage.RING_HOP)
    else:
        _, y = decode_record(party.recall(masked_vector(plan.run, rnd), rnd=rnd, stage=Stage.CONTRIBUTE))
        if came_from is not None:
            incoming = party.store.get(partial_in(plan.run, rnd, came_from))
            y += u32_from_bytes(party.receive(came_from, incoming, rnd=rnd, stage=Stage.RING_HOP))  # wraps mod 2^32
        record = party.keep(kept, encode_record({"came_from": came_from}, y), rnd=rnd, stage=Stage.RING_HOP)
    _, partial = decode_record(record)
    sent = party.store.put_once(out_key, party.send(to, u32_to_bytes(partial), rnd=rnd, stage=Stage.RING_HOP))
    return {"reused": reused, "bytes_sent": len(sent)}


def relay_partial(host: Host, plan: RoundPlan, *, sender: str, recipient: str) -> int:
    """Host: move ``sender``'s sealed partial sum to ``recipient``'s inbox (or the host's bucket)."""
    blob = host.view(sender, rnd=plan.label).get(partial_out(plan.run, plan.label, recipient))
    if recipient == host.name:
        host.store.put(ring_sum(plan.run, plan.label, sender), blob)
    else:
        host.view(recipient, rnd=plan.label).put(partial_in(plan.run, plan.label, sender), blob)
    return len(blob)


def ring_sums(host: Host, plan: RoundPlan, last_hops: list[str]) -> list[np.ndarray]:
    """Host: each ring's final sum, checked against its last hop's signature and opened."""
    rnd = plan.label
    return [
        u32_from_bytes(host.receive(s, host.store.get(ring_sum(plan.run, rnd, s)), rnd=rnd, stage=Stage.RING_HOP))
        for s in last_hops
    ]
