"""Consistency check: every survivor signs the survivor set before anything is revealed.

Bonawitz et al. 2017 (https://eprint.iacr.org/2017/281), section 4.3, ConsistencyCheck.
A host that tells different holders different stories about who dropped could collect
the self-mask seed of a victim from some holders and the keys of its neighbours from
others, without any holder revealing two shares of one peer, and unmask the victim's
update. So before revealing, each survivor signs one survivor set per round (and
refuses any other), and reveals only when it holds, over exactly the set it signed,
signatures of a strict majority of the round's members (``RoundPlan.signatures_needed``):
two different sets can never both gather a majority of honest signatures.

Before signing, a survivor checks what it can of the announced set
(``check_survivor_set``); every refusal is an IntegrityError naming what the host did.
"""

from __future__ import annotations

from fedring.errors import IntegrityError
from fedring.layout import Stage, consistency_record, consistency_signature
from fedring.round.advertise import View, accept_view
from fedring.round.party import Host, Party
from fedring.round.plan import RoundPlan
from fedring.round.ring import my_ring, received_from, sealed_to
from fedring.round.share_keys import accept_shares
from fedring.round.wire import survivor_set


def check_survivor_set(view: View, me: str, survivors: list[str], dropped: list[str], *,
                       held_from: set[str], sealed: list[str], came_from: str | None, host: str) -> None:
    """Refuse a survivor set that is malformed, unsafe to reveal for, or contradicts what ``me`` saw."""
    plan, rnd = view.plan, view.plan.label
    surv, drop, members = set(survivors), set(dropped), set(plan.members)

    def refuse(why: str) -> None:
        raise IntegrityError(f"round {rnd}: {me} refuses the survivor set: {why}")

    if len(surv) != len(survivors) or len(drop) != len(dropped):
        refuse("a name appears twice")
    if surv & drop:
        refuse(f"{', '.join(sorted(surv & drop))} both survived and dropped")
    if not (surv | drop) <= members:
        refuse(f"{', '.join(sorted((surv | drop) - members))} never advertised in this round")
    if me not in surv:
        refuse(f"{me} is listed as dropped although it takes part")
    if len(surv) < plan.threshold:
        refuse(f"{len(surv)} survivors, fewer than the threshold {plan.threshold}")
    for peer in sorted(plan.graph[me]):  # whom me holds shares of is what me can check
        if (peer in held_from) != (peer in surv | drop):
            said = "shared its secrets" if peer in held_from else "never shared with it"
            refuse(f"{peer} {said}, but the host {'leaves it out' if peer in held_from else 'lists it'}")
    for owner in sorted(surv | drop):
        revealing = set(plan.holders(owner)) & surv
        if len(revealing) < plan.threshold:
            refuse(f"only {len(revealing)} of {owner}'s holders survive, fewer than the threshold {plan.threshold}")
    for owner in sorted(surv):
        if not plan.graph[owner] & surv:
            refuse(f"survivor {owner} has no surviving neighbour: its update would be unmasked alone")
    _check_rings(view, surv, refuse)
    _check_my_route(view, me, surv, sealed, host, refuse)
    if came_from is not None and came_from not in surv:
        refuse(f"{me} added its vector to {came_from}'s partial sum, but the host lists {came_from} as dropped")


def _check_rings(view: View, surv: set[str], refuse) -> None:
    """With several rings, no ring's sum may lose all its pairwise masks to other rings' survivors."""
    rings = [set(r) & surv for r in view.plan.ring_plan.rings]
    rings = [r for r in rings if r]
    if len(rings) < 2:
        return
    for r in rings:
        others = surv - r
        if not any(view.plan.graph[a] & others for a in r):
            refuse(f"the sum of ring {{{', '.join(sorted(r))}}} would be unmasked alone (no neighbour survives "
                   f"in another ring)")


def _check_my_route(view: View, me: str, surv: set[str], sealed: list[str], host: str, refuse) -> None:
    """Where ``me`` sent its partial sum must agree with the survivor set."""
    if not sealed:
        refuse(f"{me} is listed as a survivor but never sent its partial sum")
    ring = my_ring(view, me)
    order = {h: i for i, h in enumerate(ring)} | {host: len(ring)}
    last = max(sealed, key=lambda t: order.get(t, -1))
    skipped = [h for h in ring[ring.index(me) + 1 : order.get(last, len(ring))] if h in surv]
    if skipped:
        refuse(f"{me}'s partial sum went to {last}, past {', '.join(skipped)}, which the host lists as survivors")
    if last != host and last not in surv:
        refuse(f"{me}'s partial sum went to {last}, which the host lists as dropped")


def sign_survivors(party: Party, plan: RoundPlan, *, survivors: list[str], dropped: list[str], host: str) -> dict:
    """Client: check the announced survivor set and sign it (one set per round, never another)."""
    rnd = plan.label
    view = accept_view(party, plan, host=host)
    check_survivor_set(view, party.name, survivors, dropped, held_from=set(accept_shares(party, view)),
                       sealed=sealed_to(party, plan), came_from=received_from(party, plan), host=host)
    body = survivor_set(survivors, dropped, model=view.model, view=view.digest)
    signed_before = party.keep(consistency_record(plan.run, rnd), body, rnd=rnd, stage=Stage.CONSISTENCY)
    if signed_before != body:
        raise IntegrityError(f"round {rnd}: the host asks {party.name} to sign a second, different survivor set")
    statement = party.sign(Stage.CONSISTENCY, body, rnd=rnd)
    key = consistency_signature(plan.run, rnd)
    reused = party.store.exists(key)
    party.store.put(key, statement)  # deterministic: the same bytes on every attempt
    return {"reused": reused, "bytes_sent": len(statement)}


def collect_signatures(host: Host, plan: RoundPlan, signers: list[str]) -> dict[str, bytes]:
    """Host: the signed survivor sets of ``signers`` (each checked against its signer's pin)."""
    found = {}
    for name in signers:
        blob = host.view(name, rnd=plan.label).get(consistency_signature(plan.run, plan.label))
        host.verify(blob, Stage.CONSISTENCY, name, rnd=plan.label)
        found[name] = blob
    return found


def check_signatures(party: Party, view: View, body: bytes, signatures: dict[str, bytes], survivors: list[str]) -> None:
    """Refuse to reveal unless a strict majority of members signed exactly ``body`` (and are survivors).

    Every signature is checked, also past the number needed: a statement the host altered
    is refused wherever it sorts, so the host that altered it is detected.
    """
    rnd, needed, surviving = view.plan.label, view.plan.signatures_needed, set(survivors)
    good = []
    for name, blob in sorted(signatures.items()):
        if name in surviving and party.verify(blob, Stage.CONSISTENCY, name, rnd=rnd) == body:
            good.append(name)
    if len(good) < needed:
        raise IntegrityError(
            f"round {rnd}: {party.name} holds {len(good)} signature(s) over the survivor set it signed "
            f"({', '.join(good) or 'none'}), {needed} needed; it reveals nothing"
        )
