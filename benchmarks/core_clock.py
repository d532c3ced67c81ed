"""When fedring's own work runs, in the host and in every worker process (for bench_parallel.py).

The functions of ``bench_round.CORE`` (computation, crypto, storage I/O) are wrapped to
record wall-clock intervals (``time.time``: one clock for every process of the machine).
Whatever part of a round no interval covers, in any process, is orchestration: Prefect,
Dask and the waits between them. ``CoreClock`` is a Dask worker plugin, so the same
wrapping runs in each worker; ``covered`` merges the intervals of all processes.
"""

from __future__ import annotations

import time

from distributed import WorkerPlugin

_intervals: list[tuple[float, float]] = []


def install() -> None:
    """Wrap the core functions of this process (once); outermost calls only are recorded."""
    from benchmarks.bench_round import CORE

    depth = [0]
    for module, names in CORE:
        for name in names:
            real = getattr(module, name)
            if getattr(real, "_core_clock", False):
                continue

            def timed(*args, __real=real, **kwargs):
                depth[0] += 1
                start = time.time()
                try:
                    return __real(*args, **kwargs)
                finally:
                    depth[0] -= 1
                    if depth[0] == 0:
                        _intervals.append((start, time.time()))

            timed._core_clock = True
            setattr(module, name, timed)


def intervals() -> list[tuple[float, float]]:
    return list(_intervals)


class CoreClock(WorkerPlugin):
    name = "bench-core-clock"

    def setup(self, worker) -> None:  # noqa: ANN001
        install()


def covered(spans: list[tuple[float, float]], start: float, end: float) -> float:
    """Seconds of [start, end] that at least one span covers."""
    total, reach = 0.0, start
    for a, b in sorted(spans):
        a, b = max(a, reach), min(b, end)
        if b > a:
            total += b - a
            reach = b
    return total
