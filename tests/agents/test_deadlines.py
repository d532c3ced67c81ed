"""Deadlines of stage requests: fixed per stage, or derived from the measured training time."""

from __future__ import annotations

import pytest

from fedring.agent import deadline_seconds
from fedring.config import DeadlineConfig, build_config
from fedring.errors import ConfigError

LAST = {"train_seconds": {"alpha": 10.0, "beta": 30.0}}


def test_contribute_follows_the_accounts_measured_training_time():
    d = DeadlineConfig(default_seconds=60, training_factor=3)
    assert deadline_seconds(d, "contribute", "alpha", LAST) == 3 * 10.0 + 60
    assert deadline_seconds(d, "contribute", "beta", LAST) == 3 * 30.0 + 60
    # gamma dropped last round: the slowest measured account stands in
    assert deadline_seconds(d, "contribute", "gamma", LAST) == 3 * 30.0 + 60


def test_first_round_and_other_stages_use_the_configured_defaults():
    d = DeadlineConfig(default_seconds=45, first_training_seconds=900)
    assert deadline_seconds(d, "contribute", "alpha", None) == 900
    assert deadline_seconds(d, "contribute", "alpha", {"train_seconds": {}}) == 900
    for stage in ("enrol", "advertise", "share-keys", "ring-hop", "consistency", "reveal"):
        assert deadline_seconds(d, stage, "alpha", LAST) == 45


def test_a_fixed_stage_deadline_wins():
    d = DeadlineConfig(stages={"contribute": 20, "ring-hop": 7})
    assert deadline_seconds(d, "contribute", "alpha", LAST) == 20
    assert deadline_seconds(d, "ring-hop", "alpha", LAST) == 7


@pytest.mark.parametrize("deadlines,message", [
    ({"stages": {"shell": 5}}, "deadlines.stages: 'shell' is not a client stage"),
    ({"stages": {"contribute": 0}}, "deadlines.stages: contribute: must be > 0 seconds"),
    ({"default_seconds": 0}, "deadlines.default_seconds"),
    ({"training_factor": 0.5}, "deadlines.training_factor"),
])
def test_bad_deadlines_name_the_option(deadlines, message):
    with pytest.raises(ConfigError, match=message):
        build_config(deadlines=deadlines)
