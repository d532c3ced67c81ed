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
