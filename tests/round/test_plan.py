"""The round plan: public weights, holders and threshold, the same for every party."""

from __future__ import annotations

import pytest

from fedring.config import build_config
from fedring.errors import ConfigError, IntegrityError, ProtocolError
from fedring.round.plan import RoundPlan, check_plan


def test_weights_are_sample_shares_and_holders_include_the_owner():
    cfg = build_config(accounts=[{"name": n} for n in ("a", "b", "c", "d")])
    plan = RoundPlan.create(cfg, {"a": 10, "b": 30, "c": 40, "d": 20}, rnd=2)

    assert [plan.weight(n) for n in plan.roster] == [0.1, 0.3, 0.4, 0.2]
    with pytest.raises(ProtocolError, match="known only after advertise"):
        plan.graph
    seeded = plan.seeded({n: bytes([i]) * 32 for i, n in enumerate("abcd")})
    assert seeded.holders("a") == ["a", "b", "c", "d"] and seeded.members == ("a", "b", "c", "d")
    assert seeded.seed != plan.seeded({n: bytes([9 - i]) * 32 for i, n in enumerate("abcd")}).seed
    assert plan.threshold == 3  # a strict majority of the four holders
    assert RoundPlan.create(cfg, {"a": 10, "b": 30, "c": 40, "d": 20}, rnd=2) == plan


def test_a_single_account_cannot_aggregate_securely():
    with pytest.raises(ConfigError, match="at least 2 accounts"):
        check_plan(build_config(accounts=[{"name": "solo"}]))


def test_advertisements_from_outside_the_roster_are_refused():
    plan = RoundPlan.create(build_config(accounts=[{"name": "a"}, {"name": "b"}]), {"a": 1, "b": 1}, rnd=1)
    with pytest.raises(IntegrityError, match="not in the roster: mallory"):
        plan.seeded({"a": bytes(32), "mallory": bytes(32)})
