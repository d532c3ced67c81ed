"""A transient storage fault at any write is rescued by Prefect's retry: the same models, nobody dropped.

Every key a run writes fails once, in one of ``STRIDE`` runs (the run of phase p fails the
first write of each key whose rank among the run's keys is p modulo ``STRIDE``), either
before the object is written or after (the write happened but its answer was lost, as when
an S3 PUT times out). ``benchmarks/bench_crash.py`` fails each write in a run of its own.
"""

from __future__ import annotations

import pytest

from tests.crash.harness import Reference, kinds_of, local_place, outcome, run_cli, unreadable

pytestmark = pytest.mark.slow

STRIDE = 6  # the most keys one task writes is 9 (a split): at most 2 faults, within its 3 retries


def fail_once(ref: Reference, phase: int, fault: str, server_env: dict[str, str], tmp_path) -> None:
    place = local_place(tmp_path, secure=ref.place.cfg.secagg.secure)
    result = run_cli(place, server_env, {"fail_every": STRIDE, "fail_phase": phase, "fault": fault})
    assert result.code == 0, result.tail()
    faulted = [w for w in result.trace if w["fault"]]
    assert kinds_of(faulted, place) == ref.planned_faults(STRIDE, phase)
    assert outcome(place) == ref.outcome  # same models; every account took part in every round
    assert unreadable(place) == []


def phases(sample: set[tuple[int, str]], faults: tuple[str, ...]) -> list:
    """Every (phase, fault); outside ``sample`` marked ``sweep`` (see test_kill_points.py)."""
    return [pytest.param(p, f, marks=() if (p, f) in sample else pytest.mark.sweep)
            for p in range(STRIDE) for f in faults]


@pytest.mark.parametrize(("phase", "fault"), phases({(0, "before"), (3, "after")}, ("before", "after")))
def test_secure_run_rescues_a_fault_at_every_write(phase, fault, secure_reference, server_env, tmp_path):
    fail_once(secure_reference, phase, fault, server_env, tmp_path)


@pytest.mark.parametrize(("phase", "fault"), phases({(1, "before")}, ("before",)))
def test_plain_run_rescues_a_fault_at_every_write(phase, fault, plain_reference, server_env, tmp_path):
    fail_once(plain_reference, phase, fault, server_env, tmp_path)


@pytest.mark.parametrize("what", [
    "host runs/<run>/rounds/<r>/records/advertise/decision.json",
    "host runs/<run>/rounds/<r>/records/ring-hop/<a>-to-<a>.json",
])
def test_a_fault_at_a_decision_record_is_retried(what, secure_reference, server_env, tmp_path):
    """Regression: the host wrote its decision records in the flow body, where no retry rescued a fault."""
    place = local_place(tmp_path)
    result = run_cli(place, server_env, {"fail_at": secure_reference.point(what)})
    assert result.code == 0, result.tail()
    assert outcome(place) == secure_reference.outcome
