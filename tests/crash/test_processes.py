"""Processes, as a user meets them: two commands on one run, and a command killed or cancelled.

- Two ``fedring run`` on one run id at once: one drives the run, the other is refused at
  once (exit code 8) with the holder named; the run ends as an uninterrupted one.
- ``fedring run`` SIGKILLed, SIGTERMed or interrupted (SIGINT, as Ctrl-C) while its own
  Prefect server runs: no process of it remains; a cancelled run says so (exit code 130),
  and a resume finishes it with the uninterrupted run's models.
"""

from __future__ import annotations

import os
import re
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from tests.crash.harness import launch, local_place, outcome, run_cli, unreadable

pytestmark = pytest.mark.slow


def test_a_second_process_on_the_run_is_refused_at_once_naming_the_holder(secure_reference, server_env, tmp_path):
    place = local_place(tmp_path)
    # Execute: two commands on the same run, started together.
    procs = [launch(place, server_env, label=f"p{i}") for i in range(2)]
    outs = [p.communicate(timeout=1800)[0] for p in procs]
    # Assert: exactly one finished the run; the other was refused, naming the winner.
    codes = [p.returncode for p in procs]
    assert sorted(codes) == [0, 8], outs
    winner, loser = (0, 1) if codes[0] == 0 else (1, 0)
    message = " ".join(outs[loser].split())
    assert f"run 'crash' is busy: process {procs[winner].pid} on host" in message
    assert "the run frees itself as soon as that process ends" in message
    assert "round" not in outs[loser]  # refused before anything ran
    assert outcome(place) == secure_reference.outcome
    assert unreadable(place) == []


def _children(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if fields[0] not in ("Z", "X"):
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def _alive(pids: list[int]) -> list[int]:
    live = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if state not in ("Z", "X"):
            live.append(pid)
    return live


def _wait_for(proc, pattern: str, seen: list[str], timeout: float = 900) -> str:
    """Read the command's output until a line matches ``pattern``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if re.search(pattern, line):
            return line
    raise AssertionError(f"no line matching {pattern!r}: {''.join(seen)[-3000:]}")


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_a_killed_or_cancelled_run_leaves_no_process_behind(how, secure_reference, server_env, tmp_path):
    place = local_place(tmp_path)
    # The command starts its own server, with its own database.
    own = {k: v for k, v in server_env.items() if k != "PREFECT_API_URL"} | {"PREFECT_HOME": str(tmp_path / "home")}
    proc = launch(place, own, label="cancelled")
    seen: list[str] = []
    address = re.search(r"View at (http://127\.0\.0\.1:\d+)", _wait_for(proc, r"View at ", seen)).group(1)
    _wait_for(proc, r"round 1 committed", seen)
    family = _children(proc.pid)
    assert family, "the command's Prefect server is its child"
    # Execute: stop the command in round 2.
    proc.send_signal(how)
    out = proc.communicate(timeout=120)[0]
    # Assert: nothing of it runs any more, and the UI it announced is gone.
    deadline = time.monotonic() + 30
    while _alive(family) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _alive(family) == [], f"left behind: {family}"
    with pytest.raises(OSError):
        urllib.request.urlopen(address, timeout=5)
    if how == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 130, "".join(seen) + out
        assert out.strip().endswith("aborted")
    # A resume (against the shared server) finishes the run as if nothing happened.
    resumed = run_cli(place, server_env, label="resumed")
    assert resumed.code == 0, resumed.tail()
    assert outcome(place) == secure_reference.outcome
    assert os.path.exists(place.base / "out" / "metrics.csv")
