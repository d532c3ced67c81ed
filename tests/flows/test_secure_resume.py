"""A round that stops for too few survivors resumes once the accounts are back (nothing recorded dooms it)."""

from __future__ import annotations

import pytest

from fedring.errors import TooFewSurvivors
from fedring.manifest import latest_manifest
from fedring.storage import host_store
from tests.flows.secure_helpers import ACCOUNTS, fail_for, make_cfg

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]


def test_a_ring_that_loses_too_many_hops_resumes_when_they_are_back(tmp_path):
    from flows.host import federated_training

    # Prepare: beta's and gamma's storage is down during their ring hops of round 1 (every
    # retry): bypassing both would leave one survivor, fewer than the threshold of 2.
    cfg = make_cfg(tmp_path, run="ring-outage", rounds=1)
    with pytest.MonkeyPatch.context() as outage:
        fail_for(outage, "ring_hop", "beta", 1)
        fail_for(outage, "ring_hop", "gamma", 1)
        with pytest.raises(TooFewSurvivors, match="resume the run once"):
            federated_training(cfg)
    assert latest_manifest(host_store(cfg), cfg.run)["committed"] == []
    # Execute: the outage is over; the same run id again.
    manifest = federated_training(cfg)
    # Assert: the hop whose failure would have doomed the round was not recorded and ran
    # again; the one bypassed while the round could still finish stays dropped.
    (first,) = manifest["committed"]
    assert len(first["participants"]) == 2 and "alpha" in first["participants"]
    assert len(first["dropped"]) == 1 and first["dropped"][0] in ("beta", "gamma")
    assert sorted(first["participants"] + first["dropped"]) == list(ACCOUNTS)
