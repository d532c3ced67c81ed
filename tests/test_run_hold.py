"""hold_run and check_run: one lease per run in a process, shared by the CLI and its flow, checked at commits."""

from __future__ import annotations

import json

import pytest

from fedring import layout
from fedring.errors import RunBusy
from fedring.lease import RunLease, check_run, hold_run
from fedring.storage import LocalStore


def _generations(store: LocalStore, run: str) -> list[dict]:
    return [json.loads(store.get(k)) for k in store.list(layout.lease_prefix(run))]


def test_a_nested_holder_joins_the_lease_and_the_outermost_releases_it(tmp_path):
    store = LocalStore(tmp_path, "fedring-host")
    with hold_run(store, "joined", autorenew=False) as outer:
        with hold_run(LocalStore(tmp_path, "fedring-host"), "joined") as inner:  # another store object, same bucket
            assert inner is outer
            check_run(store, "joined")
        assert _generations(store, "joined")[-1]["state"] == "held"  # the inner exit released nothing
        check_run(store, "joined")
    assert _generations(store, "joined")[-1]["state"] == "released"
    with pytest.raises(RuntimeError, match="does not hold run 'joined'"):
        check_run(store, "joined")


def test_the_same_run_id_in_another_bucket_is_another_run(tmp_path):
    here, there = LocalStore(tmp_path / "a", "fedring-host"), LocalStore(tmp_path / "b", "fedring-host")
    with hold_run(here, "twin", autorenew=False), hold_run(there, "twin", autorenew=False) as second:
        assert second.store is there
    with pytest.raises(RuntimeError):
        check_run(there, "twin")


def test_a_commit_check_after_a_takeover_raises_run_busy_and_the_lease_is_not_released(tmp_path):
    # Prepare: this process holds the run with a lease that expires at once (time-based).
    now = [1000.0]
    store = LocalStore(tmp_path, "fedring-host")
    with pytest.raises(RunBusy, match="was taken over"):
        with hold_run(store, "stolen", ttl=10.0, pid_liveness=False, autorenew=False, clock=lambda: now[0]):
            # Execute: its lease expires; another process takes the run over.
            now[0] += 11.0
            RunLease(store, "stolen", ttl=10.0, pid_liveness=False, autorenew=False, clock=lambda: now[0]).acquire()
            # Assert: the check before the commit refuses.
            check_run(store, "stolen")
    assert _generations(store, "stolen")[-1]["state"] == "held"  # the new holder's, untouched
