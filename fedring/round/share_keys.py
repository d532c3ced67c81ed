"""Share keys: each account splits its round secrets among its holders; the host regroups the shares.

Bonawitz et al. 2017 (https://eprint.iacr.org/2017/281), ShareKeys, with the neighbour
graph of Bell et al. 2020 (SecAgg+). The graph is seeded by every advertised key of
the round, so it is known only now, after advertise.

- ``share`` (client): accept the round view (``advertise.accept_view``), make the
  Shamir shares of a_i and b_i (t of the holders: its graph neighbours and itself) once,
  keep them sealed to itself, and publish each share sealed to its holder and signed, in
  one outbox object. The shares exist before anyone masks: an account that masks with
  a neighbour can count on the neighbour's key being rebuilt if the neighbour fails.
- ``relay_shares`` (host): one inbox object per holder with the shares sealed to it.
- ``accept_shares`` (client, at contribute): check each relayed share's signature and
  keep what it accepted; whose shares it holds decides whom it masks with.
"""

from __future__ import annotations

from fedring.errors import IntegrityError
from fedring.layout import Stage, held_shares, made_shares, shares_in, shares_out
from fedring.round.advertise import View, accept_view, round_secrets_of
from fedring.round.party import Host, Party
from fedring.round.plan import RoundPlan
from fedring.round.wire import decode_bundle, encode_bundle
from fedring.secagg import make_shares


def own_shares(party: Party, view: View) -> dict[str, bytes]:
    """All shares this account made of its round secrets, by holder (made once, then kept)."""
    plan, me = view.plan, party.name
    made = make_shares(
        round_secrets_of(party, plan), me=me, holders=plan.holders(me), threshold=plan.threshold,
        run=plan.run, rnd=plan.label, roster=list(plan.roster),
    )
    kept = party.keep(made_shares(plan.run, plan.label), encode_bundle(made), rnd=plan.label, stage=Stage.SHARES)
    return decode_bundle(kept)


def share(party: Party, plan: RoundPlan, *, host: str) -> dict:
    """Client: publish the shares of this round's secrets, each sealed to its holder and signed."""
    out_key = shares_out(plan.run, plan.label)
    if party.store.exists(out_key):
        return {"reused": True, "bytes_sent": 0}
    view = accept_view(party, plan, host=host)
    made = own_shares(party, view)
    bundle = encode_bundle({
        holder: party.send(holder, blob, rnd=plan.label, stage=Stage.SHARES)
        for holder, blob in made.items() if holder != party.name
    })
    stored = party.store.put_once(out_key, bundle)
    return {"reused": stored != bundle, "bytes_sent": len(stored)}


def relay_shares(host: Host, plan: RoundPlan, shared: list[str]) -> int:
    """Host: give each account that shared the shares its neighbours sealed to it; returns bytes.

    ``plan`` is the seeded plan. Each share's signature is checked: a share bundle
    that is not its owner's is refused here, naming the owner, before any holder sees it.
    """
    held: dict[str, dict[str, bytes]] = {a: {} for a in shared}  # holder -> owner -> signed sealed share
    for owner in shared:
        bundle = decode_bundle(host.view(owner, rnd=plan.label).get(shares_out(plan.run, plan.label)))
        for holder, blob in bundle.items():
            if holder in held and holder in plan.graph[owner]:
                host.verify(blob, Stage.SHARES, owner, rnd=plan.label, to=holder)
                held[holder][owner] = blob
    moved = 0
    for holder, shares in held.items():
        payload = encode_bundle(shares)
        host.view(holder, rnd=plan.label).put(shares_in(plan.run, plan.label), payload)
        moved += len(payload)
    return moved


def accept_shares(party: Party, view: View) -> dict[str, bytes]:
    """Client: the shares relayed to this account, each checked against its owner's pin, kept.

    Returns owner -> signed sealed share. Only graph neighbours may send a share; the
    accepted set is kept, so every later stage holds the same shares.
    """
    plan, me = view.plan, party.name
    key = held_shares(plan.run, plan.label)
    if party.store.exists(key):
        return decode_bundle(party.recall(key, rnd=plan.label, stage=Stage.CONTRIBUTE))
    relayed = decode_bundle(party.store.get(shares_in(plan.run, plan.label)))
    strangers = sorted(set(relayed) - plan.graph[me])
    if strangers:
        raise IntegrityError(f"round {plan.label}: the host relayed shares to {me} from non-neighbours {', '.join(strangers)}")
    for owner, blob in relayed.items():
        party.verify(blob, Stage.SHARES, owner, rnd=plan.label, to=me)
    kept = party.keep(key, encode_bundle(relayed), rnd=plan.label, stage=Stage.CONTRIBUTE)
    return decode_bundle(kept)


def open_share(party: Party, view: View, owner: str, blob: bytes) -> bytes:
    """One accepted share of ``owner``'s secrets, opened."""
    return party.receive(owner, blob, rnd=view.plan.label, stage=Stage.SHARES)
