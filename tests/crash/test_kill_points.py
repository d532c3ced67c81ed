"""A real SIGKILL right after an object write, then one resume: the same models, bit for bit, nobody dropped.

One kill point per kind of write of a 3-account, 2-round run (the first write of each
kind, and the run's last write), secure and plain, on LocalStore; a sample on S3 lives in
``test_s3.py``. ``benchmarks/bench_crash.py`` kills after every write of the run.

Each kill point costs two runs of the command (about a minute here), so ``make test``
runs one point per stage (``SAMPLE``); the others carry the ``sweep`` marker and run with
``make test PYTEST_ARGS='-m sweep'`` or ``benchmarks/bench_crash.py``.

Round 1's model is evaluated inside round 2's training sum; the last round's model gets a
secure sum of its own, whose objects are the training sum's kinds under the label
``<r>-eval``; its sample points are the masked evaluation sums and the unmasked totals.
"""

from __future__ import annotations

import signal

import pytest

from tests.crash.harness import Reference, kinds_of, local_place, outcome, run_cli, unreadable

pytestmark = pytest.mark.slow

# Every kind of object a secure run writes (the first of each kind is a kill point).
TRAINING_KINDS = [
    "client public/keys/*",
    "client outbox/<run>/0000/enrol/data.json",
    "host public/keys/*",
    "client inbox/<run>/0000/directory/keys.json",
    "client private/<run>/0000/directory/accepted",
    "host runs/<run>/rounds/0000/model",
    "host runs/<run>/rounds/0000/model.sig",
    "host runs/<run>/manifest/0000.json",
    "client inbox/<run>/<r>/global/model",
    "client inbox/<run>/<r>/global/model.sig",
    "client private/<run>/<r>/advertise/secrets",
    "client outbox/<run>/<r>/advertise/advertisement",
    "host runs/<run>/rounds/<r>/records/advertise/decision.json",
    "client inbox/<run>/<r>/advertise/advertisements",
    "client private/<run>/<r>/shares/view",
    "client private/<run>/<r>/shares/made",
    "client outbox/<run>/<r>/shares/bundle",
    "host runs/<run>/rounds/<r>/records/shares/decision.json",
    "client inbox/<run>/<r>/shares/bundle",
    "client private/<run>/<r>/contribute/held",
    "client private/<run>/<r>/contribute/masked",
    "client outbox/<run>/<r>/contribute/meta.json",
    "host runs/<run>/rounds/<r>/records/contribute/decision.json",
    "client private/<run>/<r>/ring-hop/partial",
    "client outbox/<run>/<r>/ring-hop/to-<a>",
    "host runs/<run>/rounds/<r>/records/ring-hop/<a>-to-<a>.json",
    "client inbox/<run>/<r>/ring-hop/from-<a>",
    "host runs/<run>/rounds/<r>/ring-hop/from-<a>",
    "client private/<run>/<r>/consistency/record",
    "client outbox/<run>/<r>/consistency/signature",
    "host runs/<run>/rounds/<r>/records/consistency/decision.json",
    "client private/<run>/<r>/reveal/record",
    "client outbox/<run>/<r>/reveal/shares",
    "host runs/<run>/rounds/<r>/records/reveal/decision.json",
    "host runs/<run>/rounds/<r>/aggregate/model",
    "host runs/<run>/rounds/<r>/model",
    "host runs/<run>/rounds/<r>/model.sig",
    "host runs/<run>/rounds/<r>/metrics.json",
    "host runs/<run>/manifest/<r>.json",
]
_SUM = [k for k in TRAINING_KINDS if "/<r>/" in k and "aggregate" not in k and not k.startswith("host runs/<run>/rounds/<r>/m")]
EVAL_KINDS = [k.replace("/<r>/", "/<r>-eval/") for k in _SUM] + ["host runs/<run>/rounds/<r>-eval/unmask/totals.json"]
SECURE_KINDS = TRAINING_KINDS + EVAL_KINDS

# One kill point per stage of the round, in the order the run writes them.
SAMPLE = {
    "client outbox/<run>/0000/enrol/data.json",
    "host runs/<run>/manifest/0000.json",
    "client private/<run>/<r>/advertise/secrets",
    "client outbox/<run>/<r>/shares/bundle",
    "client private/<run>/<r>/contribute/masked",
    "client outbox/<run>/<r>/ring-hop/to-<a>",
    "client outbox/<run>/<r>/consistency/signature",
    "client outbox/<run>/<r>/reveal/shares",
    "host runs/<run>/rounds/<r>/metrics.json",
    "client outbox/<run>/<r>/update/model",
    "client private/<run>/<r>-eval/contribute/masked",
    "host runs/<run>/rounds/<r>-eval/unmask/totals.json",
    "client outbox/<run>/<r>-eval/update/sums.json",
    "last write",
}


def points(kinds: list[str]) -> list:
    """Every kill point; those outside ``SAMPLE`` marked ``sweep``."""
    return [pytest.param(k, marks=() if k in SAMPLE else pytest.mark.sweep) for k in [*kinds, "last write"]]


PLAIN_KINDS = [
    "client outbox/<run>/0000/enrol/data.json",
    "host runs/<run>/rounds/0000/model",
    "host runs/<run>/manifest/0000.json",
    "client inbox/<run>/<r>/global/model",
    "client outbox/<run>/<r>/update/model",
    "client outbox/<run>/<r>/update/meta.json",
    "host runs/<run>/rounds/<r>/aggregate/model",
    "client inbox/<run>/<r>-eval/global/model",
    "client outbox/<run>/<r>-eval/update/sums.json",
    "host runs/<run>/rounds/<r>-eval/unmask/totals.json",
    "host runs/<run>/rounds/<r>/model",
    "host runs/<run>/rounds/<r>/metrics.json",
    "host runs/<run>/manifest/<r>.json",
]


def kill_and_resume(ref: Reference, what: str, server_env: dict[str, str], tmp_path) -> None:
    """Kill a fresh run of ``ref``'s federation after write ``what``, resume it once, compare."""
    n = ref.point(what)
    place = local_place(tmp_path, secure=ref.place.cfg.secagg.secure)
    # Execute: the run dies right after its n-th write; then the same command again.
    killed = run_cli(place, server_env, {"kill_after": n}, label="killed")
    resumed = run_cli(place, server_env, label="resumed")
    # Assert: it died where planned (after the same kinds of writes as the uninterrupted run's first n) ...
    assert killed.code == -signal.SIGKILL, killed.tail()
    assert kinds_of(killed.trace, place) == kinds_of(ref.trace[:n], ref.place)
    # ... and one resume finished it with the uninterrupted run's models and participants.
    assert resumed.code == 0, resumed.tail()
    assert outcome(place) == ref.outcome
    assert unreadable(place) == []


def test_the_secure_run_writes_exactly_the_kinds_the_kill_points_cover(secure_reference):
    assert sorted(secure_reference.kinds()) == sorted(SECURE_KINDS)


def test_the_plain_run_writes_exactly_the_kinds_the_kill_points_cover(plain_reference):
    assert sorted(plain_reference.kinds()) == sorted(PLAIN_KINDS)


@pytest.mark.parametrize("what", points(SECURE_KINDS))
def test_secure_run_killed_after_a_write_resumes_to_the_same_models(what, secure_reference, server_env, tmp_path):
    kill_and_resume(secure_reference, what, server_env, tmp_path)


@pytest.mark.parametrize("what", points(PLAIN_KINDS))
def test_plain_run_killed_after_a_write_resumes_to_the_same_models(what, plain_reference, server_env, tmp_path):
    kill_and_resume(plain_reference, what, server_env, tmp_path)
