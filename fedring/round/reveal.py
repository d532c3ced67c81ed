"""Reveal: each survivor returns, sealed to the host, what the host needs to unmask.

Bonawitz et al. 2017 (https://eprint.iacr.org/2017/281), Unmasking: for every owner it
holds shares of, a survivor reveals the share of the self-mask seed b if the owner
survived and the share of the key a if it dropped, never both for one peer
(``fedring.secagg.shamir.reveal`` enforces the rule). What was revealed is kept,
sealed, in ``private/``: a rerun compares against it, so a second call with other lists
cannot obtain the other share.
"""

from __future__ import annotations

from fedring.layout import Stage, own_shares, reveal_record, revealed_shares, shares_in
from fedring.round.party import Host, Party
from fedring.round.plan import RoundPlan
from fedring.round.wire import decode_shares, encode_shares
from fedring.secagg import reveal as reveal_shares


def reveal(party: Party, plan: RoundPlan, *, survivors: list[str], dropped: list[str], host: str) -> dict:
    """Client: return, sealed to the host, the self-mask shares of survivors and key shares of the dropped."""
    rnd, me = plan.rnd, party.name
    out_key = revealed_shares(plan.run, rnd)
    record_key = reveal_record(plan.run, rnd)
    previous = (
        decode_shares(party.recall(record_key, rnd=rnd, stage=Stage.REVEAL)) if party.store.exists(record_key) else None
    )
    held = {}
    own = own_shares(plan.run, rnd, me)
    if party.store.exists(own):
        held[me] = party.recall(own, rnd=rnd, stage=Stage.SHARES)
    relayed = shares_in(plan.run, rnd)
    sealed = decode_shares(party.store.get(relayed)) if party.store.exists(relayed) else {}
    for owner in sorted((plan.graph[me] - {me}) & sealed.keys()):
        held[owner] = party.open_from(owner, sealed[owner], rnd=rnd, stage=Stage.SHARES)
    shares = reveal_shares(held, me=me, survivors=survivors, dropped=dropped, run=plan.run, rnd=rnd, previous=previous)
    if previous is not None and party.store.exists(out_key):
        return {"reused": True, "bytes_sent": 0}
    payload = encode_shares(shares)
    if previous is None:
        party.keep(record_key, payload, rnd=rnd, stage=Stage.REVEAL)
    sealed_out = party.seal_to(host, payload, rnd=rnd, stage=Stage.REVEAL)
    party.store.put(out_key, sealed_out)
    return {"reused": False, "bytes_sent": len(sealed_out)}


def collect_reveals(host: Host, plan: RoundPlan, survivors: list[str]) -> dict[str, dict[str, bytes]]:
    """Host: revealer -> owner -> revealed share, opened."""
    revealed = {}
    for s in survivors:
        blob = host.view(s, rnd=plan.rnd).get(revealed_shares(plan.run, plan.rnd))
        revealed[s] = decode_shares(host.open_from(s, blob, rnd=plan.rnd, stage=Stage.REVEAL))
    return revealed
