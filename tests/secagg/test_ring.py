import numpy as np
import pytest

from fedring.errors import ProtocolError
from fedring.secagg.ring import RingPlan, add_into


def test_add_into_wraps_mod_2_32_in_place():
    y1 = np.array([2**32 - 1, 5], np.uint32)
    s = add_into(None, y1)
    assert s is not y1
    s2 = add_into(s, np.array([2, 7], np.uint32))
    assert s2 is s and s.tolist() == [1, 12]
    with pytest.raises(ProtocolError):
        add_into(s, np.zeros(3, np.uint32))


def test_ring_plan_bypasses_dropped_hops():
    plan = RingPlan((("a", "b", "c", "d"), ("e", "f")))
    assert plan.next_hop(0, None) == "a"
    assert plan.next_hop(0, "a", dropped={"b"}) == "c"
    assert plan.next_hop(0, "a", dropped={"b", "c", "d"}) is None  # to the host
    assert plan.previous_hop(0, "c", dropped={"b"}) == "a"
    assert plan.previous_hop(0, "b", dropped={"a"}) is None
    assert plan.next_hop(1, None, dropped={"e"}) == "f"
    assert plan.live(0, {"c"}) == ["a", "b", "d"]
    assert plan.ring_of("f") == 1


# -- ring_route: the routing of one ring, as a pure function --------------------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from fedring.secagg.ring import Hop, Relay, Reseal, ring_route  # noqa: E402


def test_route_without_failures_passes_the_sum_along_to_the_host():
    assert ring_route(["a", "b", "c"], host="h") == [
        Hop("a", to="b", came_from=None),
        Relay("a", "b"),
        Hop("b", to="c", came_from="a"),
        Relay("b", "c"),
        Hop("c", to="h", came_from="b"),
        Relay("c", "h"),
    ]


def test_a_failed_hop_is_bypassed_by_a_reseal_of_the_previous_partial_sum():
    assert ring_route(["a", "b", "c"], host="h", failed={"b"}) == [
        Hop("a", to="b", came_from=None),
        Relay("a", "b"),
        Hop("b", to="c", came_from="a"),  # fails
        Reseal("a", to="c", came_from=None),
        Relay("a", "c"),
        Hop("c", to="h", came_from="a"),
        Relay("c", "h"),
    ]


def test_failed_last_hops_make_the_last_live_hop_reseal_to_the_host():
    assert ring_route(["a", "b", "c"], host="h", failed={"b", "c"}) == [
        Hop("a", to="b", came_from=None),
        Relay("a", "b"),
        Hop("b", to="c", came_from="a"),  # fails
        Reseal("a", to="c", came_from=None),
        Relay("a", "c"),
        Hop("c", to="h", came_from="a"),  # fails
        Reseal("a", to="h", came_from=None),
        Relay("a", "h"),
    ]


def test_a_failed_first_hop_leaves_the_next_one_to_start_the_sum():
    steps = ring_route(["a", "b"], host="h", failed={"a"})
    assert steps == [Hop("a", to="b", came_from=None), Hop("b", to="h", came_from=None), Relay("b", "h")]


def test_a_ring_where_every_hop_fails_sends_nothing_to_the_host():
    steps = ring_route(["a", "b"], host="h", failed={"a", "b"})
    assert not any(isinstance(s, Relay) for s in steps)


ring_names = st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=8, unique=True)


@given(ring_names, st.data())
def test_route_properties(live, data):
    failed = set(data.draw(st.lists(st.sampled_from(live), unique=True)))
    steps = ring_route(live, host="host", failed=failed)
    # every hop runs exactly once, in ring order
    assert [s.account for s in steps if isinstance(s, Hop)] == live
    # a failed hop never sends anything on, and every relay carries a sum someone sealed to the recipient
    sealed = {(s.account, s.to) for s in steps if isinstance(s, (Hop, Reseal))}
    for s in steps:
        if isinstance(s, Relay):
            assert s.sender not in failed and (s.sender, s.recipient) in sealed
    # exactly one sum reaches the host when some hop is alive, from the last live hop
    to_host = [s.sender for s in steps if isinstance(s, Relay) and s.recipient == "host"]
    alive = [h for h in live if h not in failed]
    assert to_host == alive[-1:]
    # each live hop receives the sum of the live hop before it, never a failed one's
    received = {s.recipient: s.sender for s in steps if isinstance(s, Relay) and s.recipient != "host"}
    for prev, nxt in zip(alive, alive[1:]):
        assert received.get(nxt) == prev
    # prefix stability: a failure changes only the steps after the failed hop
    for hop in live:
        earlier = {f for f in failed if live.index(f) < live.index(hop)}
        without, with_ = ring_route(live, host="host", failed=earlier), ring_route(live, host="host", failed=earlier | {hop})
        cut = next(i for i, s in enumerate(without) if isinstance(s, Hop) and s.account == hop)
        assert without[: cut + 1] == with_[: cut + 1]
