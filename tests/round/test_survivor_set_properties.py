"""Properties of the consistency check and the reveal rule over random survivor and dropped lists.

Whatever lists a host announces, a survivor signs only sets under which no account's
update can be unmasked alone, and two different sets can never both gather the
signatures a reveal needs.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from fedring.config import build_config
from fedring.errors import IntegrityError, ProtocolError
from fedring.round.advertise import View
from fedring.round.consistency import check_survivor_set
from fedring.round.plan import RoundPlan
from fedring.secagg import make_shares, new_round_secrets, reveal
from fedring.secagg.shamir import KEY, SELF

NAMES = tuple(f"a{i}" for i in range(8))


def _view(degree: int | None, rings: int, seed: int) -> View:
    cfg = build_config(accounts=[{"name": n} for n in NAMES], secagg={"degree": degree, "rings": rings})
    plan = RoundPlan.create(cfg, dict.fromkeys(NAMES, 10), 1).seeded({n: bytes([seed, i]) * 16 for i, n in enumerate(NAMES)})
    return View(plan, {}, {}, "model", "view")


def _honest_route(view: View, me: str, surv: set[str]) -> tuple[list[str], str | None]:
    """Where ``me`` sent and got its partial sum if exactly ``surv`` took part in its ring."""
    ring = view.plan.ring_plan.rings[view.plan.ring_plan.ring_of(me)]
    alive = [h for h in ring if h in surv]
    i = alive.index(me)
    return [alive[i + 1] if i + 1 < len(alive) else "host"], (alive[i - 1] if i else None)


lists = st.lists(st.sampled_from(NAMES), unique=True)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([None, 2, 3, 4]), st.sampled_from([1, 2]), st.integers(0, 255), lists, lists)
def test_a_signed_set_leaves_no_update_unmaskable_alone(degree, rings, seed, survivors, dropped):
    view = _view(degree, rings, seed)
    plan, surv, drop = view.plan, set(survivors), set(dropped)
    if not survivors:
        return
    me = survivors[0]
    sharers = surv | drop
    sealed, came_from = _honest_route(view, me, surv)
    try:
        check_survivor_set(view, me, survivors, dropped, held_from=set(plan.graph[me]) & sharers,
                           sealed=sealed, came_from=came_from, host="host")
    except IntegrityError:
        return
    assert not surv & drop and me in surv and len(surv) >= plan.threshold
    for owner in surv | drop:  # every owner's secret can be rebuilt from survivors' shares alone
        assert len(set(plan.holders(owner)) & surv) >= plan.threshold
    for s in surv:  # no survivor's update is left without a pairwise mask among survivors
        assert plan.graph[s] & surv
    by_ring = [set(r) & surv for r in plan.ring_plan.rings]
    by_ring = [r for r in by_ring if r]
    if len(by_ring) > 1:  # no ring's sum can be unmasked on its own
        assert all(any(plan.graph[a] & (surv - r) for a in r) for r in by_ring)


@given(st.integers(2, 30), st.data())
def test_two_different_sets_never_both_gather_the_signatures_needed(members, data):
    names = [f"m{i}" for i in range(members)]
    cfg = build_config(accounts=[{"name": n} for n in names])
    plan = RoundPlan.create(cfg, dict.fromkeys(names, 1), 1).seeded(dict.fromkeys(names, bytes(32)))
    # each honest member signs at most one set (the record it keeps); a set wins with enough signatures
    choice = data.draw(st.lists(st.sampled_from(["A", "B", None]), min_size=members, max_size=members))
    winners = [s for s in "AB" if choice.count(s) >= plan.signatures_needed]
    assert len(winners) <= 1


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(lists, lists), min_size=1, max_size=4))
def test_no_sequence_of_requests_reveals_both_shares_of_one_owner(requests):
    held = {n: make_shares(new_round_secrets(), me=n, holders=list(NAMES), threshold=5, run="r", rnd=1,
                           roster=list(NAMES))["a0"] for n in NAMES}
    revealed: dict[str, set[str]] = {}
    previous: dict[str, bytes] = {}  # everything this holder revealed so far
    for survivors, dropped in requests:
        try:
            out = reveal(held, me="a0", survivors=survivors, dropped=dropped, run="r", rnd=1, previous=previous)
        except ProtocolError:  # RevealRefused, TooFewSurvivors, or a0 itself listed as dropped
            continue
        previous |= out
        for owner in out:
            revealed.setdefault(owner, set()).add(SELF if owner in survivors else KEY)
    assert all(len(k) == 1 for k in revealed.values())
