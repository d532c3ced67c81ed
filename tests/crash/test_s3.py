"""A sample of the harness on S3 (Ceph radosgw, tenants as accounts, the host through assumed roles).

The harness has its own buckets and host role (prefix ``crash``), so its partitions never
meet those of the other S3 tests. The first run writes the partitions and public keys, and
every later run finds them, so kill points are taken from a second uninterrupted run. On
S3 a dead holder's lease frees the run only when it expires; the runs here use a short
lease (3 s, waiting up to 15 s) so that a resume does not wait the default minute.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.crash.harness import Reference, kinds_of, outcome, reference_run, run_cli, s3_place, unreadable
from tests.s3.conftest import Federation, ceph, provisioned  # noqa: F401  (session fixture)

pytestmark = [pytest.mark.slow, pytest.mark.s3]

LEASE = {"lease": {"ttl": 3, "wait": 15}}
KILL_POINTS = [
    "client private/<run>/<r>/advertise/secrets",
    "client private/<run>/<r>/contribute/masked",
    "client outbox/<run>/<r>/ring-hop/to-<a>",
    "host runs/<run>/rounds/<r>/records/reveal/decision.json",
    "host runs/<run>/rounds/<r>/metrics.json",
    "last write",
]


@pytest.fixture(scope="module")
def fed(ceph) -> Federation:  # noqa: F811
    """The harness's own federation on the session's Ceph server."""
    return provisioned(ceph, prefix="crash")


@pytest.fixture(scope="module")
def s3_reference(fed, server_env, tmp_path_factory) -> Reference:  # noqa: F811
    keys = tmp_path_factory.mktemp("s3-keys")
    first = reference_run(s3_place(tmp_path_factory.mktemp("s3-first"), fed, run="crash-s3-first", keys=keys),
                          server_env, LEASE)
    second = reference_run(s3_place(tmp_path_factory.mktemp("s3-second"), fed, run="crash-s3-second", keys=keys),
                           server_env, LEASE)
    assert second.outcome == first.outcome  # the same seed on S3: the same models
    assert len(second.trace) < len(first.trace)  # no partitions and keys the second time
    return second


# make test kills at two of them (two runs of the command each, on Ceph: about 75 s a point),
# a client's write and the run's last (the manifest, then the lease); -m sweep at all.
SAMPLE = {"client private/<run>/<r>/contribute/masked", "last write"}


@pytest.mark.parametrize("what", [pytest.param(k, marks=() if k in SAMPLE else pytest.mark.sweep) for k in KILL_POINTS])
def test_s3_run_killed_after_a_write_resumes_to_the_same_models(what, s3_reference, fed, server_env, tmp_path):  # noqa: F811
    n = s3_reference.point(what)
    run = f"crash-s3-k{n}"
    place = s3_place(tmp_path, fed, run=run, keys=Path(s3_reference.place.env["FEDRING_KEYS"]))
    killed = run_cli(place, server_env, {**LEASE, "kill_after": n}, label="killed")
    resumed = run_cli(place, server_env, LEASE, label="resumed")
    assert killed.code == -signal.SIGKILL, killed.tail()
    assert kinds_of(killed.trace, place) == kinds_of(s3_reference.trace[:n], s3_reference.place)
    assert resumed.code == 0, resumed.tail()
    assert outcome(place) == s3_reference.outcome
    assert unreadable(place) == []


# make test fails writes "after" (the answer lost: a retry finds the object its own first PUT
# made, S3's conditional create); "before" runs with -m sweep (on LocalStore, make test runs both).
@pytest.mark.parametrize("fault", [pytest.param("before", marks=pytest.mark.sweep), "after"])
def test_s3_run_rescues_a_fault_at_a_write_of_every_third_key(fault, s3_reference, fed, server_env, tmp_path):  # noqa: F811
    place = s3_place(tmp_path, fed, run=f"crash-s3-{fault}", keys=Path(s3_reference.place.env["FEDRING_KEYS"]))
    result = run_cli(place, server_env, {**LEASE, "fail_every": 3, "fail_phase": 1, "fault": fault})
    assert result.code == 0, result.tail()
    assert kinds_of([w for w in result.trace if w["fault"]], place) == s3_reference.planned_faults(3, 1)
    assert outcome(place) == s3_reference.outcome
