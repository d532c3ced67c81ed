"""Reveal: each survivor returns, sealed to the host and signed, what the host needs to unmask.

Bonawitz et al. 2017 (https://eprint.iacr.org/2017/281), Unmasking. A survivor reveals
only after the consistency check (``consistency.check_signatures``): it holds enough
signatures over exactly the survivor set it signed. Then, for every owner it holds
shares of, it reveals the share of the self-mask seed b if the owner survived and the
share of the key a if it dropped, never both for one peer (``fedring.secagg.shamir.reveal``
enforces the rule, and what was revealed is kept sealed in ``private/``: a rerun
compares against it).
"""

from __future__ import annotations

from fedring.errors import IntegrityError
from fedring.layout import Stage, consistency_record, reveal_record, revealed_shares
from fedring.round.advertise import accept_view
from fedring.round.consistency import check_signatures
from fedring.round.party import Host, Party
from fedring.round.plan import RoundPlan
from fedring.round.share_keys import accept_shares, open_share, own_shares
from fedring.round.wire import decode_bundle, encode_bundle, survivor_set
from fedring.secagg import reveal as reveal_shares


def reveal(
    party: Party, plan: RoundPlan, *, survivors: list[str], dropped: list[str], signatures: dict[str, bytes], host: str
) -> dict:
    """Client: reveal the self-mask shares of survivors and key shares of the dropped, to the host."""
    rnd, me = plan.label, party.name
    out_key = revealed_shares(plan.run, rnd)
    view = accept_view(party, plan, host=host)
    body = survivor_set(survivors, dropped, model=view.model, view=view.digest)
    if not party.store.exists(consistency_record(plan.run, rnd)):
        raise IntegrityError(f"round {rnd}: the host asks {me} to reveal before it signed a survivor set")
    if party.recall(consistency_record(plan.run, rnd), rnd=rnd, stage=Stage.CONSISTENCY) != body:
        raise IntegrityError(f"round {rnd}: the host asks {me} to reveal for another survivor set than the one it signed")
    check_signatures(party, view, body, signatures, survivors)
    record_key = reveal_record(plan.run, rnd)
    previous = decode_bundle(party.recall(record_key, rnd=rnd, stage=Stage.REVEAL)) if party.store.exists(record_key) else None
    held = {me: own_shares(party, view)[me]}
    held |= {owner: open_share(party, view, owner, blob) for owner, blob in accept_shares(party, view).items()}
    shares = reveal_shares(held, me=me, survivors=survivors, dropped=dropped, run=plan.run, rnd=rnd, previous=previous)
    if previous is not None and party.store.exists(out_key):
        return {"reused": True, "bytes_sent": 0}
    payload = party.keep(record_key, encode_bundle(shares), rnd=rnd, stage=Stage.REVEAL)
    sent = party.store.put_once(out_key, party.send(host, payload, rnd=rnd, stage=Stage.REVEAL))
    return {"reused": False, "bytes_sent": len(sent)}


def collect_reveals(host: Host, plan: RoundPlan, survivors: list[str]) -> dict[str, dict[str, bytes]]:
    """Host: revealer -> owner -> revealed share, each checked against its revealer's pin and opened."""
    revealed = {}
    for s in survivors:
        blob = host.view(s, rnd=plan.label).get(revealed_shares(plan.run, plan.label))
        revealed[s] = decode_bundle(host.receive(s, blob, rnd=plan.label, stage=Stage.REVEAL))
    return revealed
