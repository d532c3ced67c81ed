"""Where the embedded default runs client stages: the round flows' task runner.

Client stages run one per account in worker processes of a Dask cluster, through
Prefect's task runner for Dask (prefect-dask): a local cluster of processes started for
the training run (one worker per core, at most one per account), or an existing cluster
named by ``execution.address`` / ``FEDRING_DASK_ADDRESS`` when one machine is not
enough (docs/scale.md). The cluster outlives the rounds, so each worker imports Prefect,
torch and fedring once per run, not once per round.

Each worker bounds its threads before its first stage: torch runs ``threads`` threads
(cores / concurrent stages unless configured), its inter-op pool one, and OpenMP and MKL
are told the same through the environment, with OpenMP threads that sleep rather than
spin while they wait (see fedring/ml/__init__.py). So two stages on two cores never run
more threads than cores, and a competing process slows a round by its share of the
machine, not by threads spinning against it.

Workers reach the host's Prefect API through the settings Prefect sends with each task;
in ephemeral mode the host's temporary server is named explicitly so that workers use
it instead of starting servers of their own. A cluster on other machines needs a Prefect
server they can reach (``PREFECT_API_URL``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from distributed import Client, LocalCluster, WorkerPlugin
from prefect.context import FlowRunContext
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect_dask import DaskTaskRunner

from fedring.config import ExecutionConfig, workers_setting

ADDRESS_ENV = "FEDRING_DASK_ADDRESS"


def cores() -> int:
    """Cores this process may run on (its CPU affinity, which containers and taskset narrow)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def resolve(execution: ExecutionConfig, accounts: int, environ: dict[str, str] | None = None) -> ExecutionConfig:
    """The execution settings in force: the environment's over the file's, ``auto`` made a number."""
    env = os.environ if environ is None else environ
    workers = workers_setting(execution.workers, env)
    if workers == "auto":
        workers = max(1, min(cores(), accounts))
    address = env.get(ADDRESS_ENV, "").strip() or execution.address
    return execution.model_copy(update={"workers": workers, "address": address})


def stage_threads(workers: int) -> int:
    """Torch threads per stage when ``workers`` stages share this machine's cores."""
    return max(1, cores() // max(1, workers))


class BoundThreads(WorkerPlugin):
    """Bounds torch's threads in each worker process before it runs a stage.

    ``threads`` None: ``OMP_NUM_THREADS`` if the worker's environment sets it (a local
    cluster sets it; so should whoever starts workers elsewhere), else the worker
    machine's cores divided by the worker's task slots.
    """

    name = "fedring-bound-threads"

    def __init__(self, threads: int | None) -> None:
        self.threads = threads

    def setup(self, worker) -> None:  # noqa: ANN001 - distributed.Worker
        from fedring.ml.train import limit_threads

        omp = os.environ.get("OMP_NUM_THREADS", "")
        limit_threads(self.threads or (int(omp) if omp.isdigit() and int(omp) > 0 else stage_threads(worker.state.nthreads)))


def worker_environment(threads: int) -> dict[str, str]:
    """What a local worker process needs before torch loads: thread counts and passive waits."""
    return {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": "1",
            "OMP_WAIT_POLICY": "PASSIVE"}


@contextmanager
def stage_runner(settings: ExecutionConfig) -> Iterator[DaskTaskRunner | None]:
    """The task runner for the round flows while the block runs; None: in the host, in sequence.

    ``settings`` come from ``resolve``. Starts a local cluster (closed on exit) unless an
    address is configured; registers the thread bound on every worker; points workers
    at the host's Prefect API; before the block ends, has every worker send the events
    and logs Prefect still queues.
    """
    with ExitStack() as stack:
        stack.enter_context(_quiet("distributed"))
        if settings.address is None and settings.workers == 0:
            stack.enter_context(_host_threads(settings.threads))
            yield None
            return
        address = settings.address
        threads = settings.threads
        if address is None:
            threads = threads or stage_threads(settings.workers)
            cluster = stack.enter_context(_local_cluster(settings.workers, threads))
            address = cluster.scheduler_address
        client = stack.enter_context(Client(address, set_as_default=False))
        client.register_plugin(BoundThreads(threads))
        stack.callback(client.run, _deliver_prefect_events)
        stack.enter_context(_api_for_workers())
        yield DaskTaskRunner(address=address)


async def _deliver_prefect_events() -> None:
    """In each worker, before it stops or the run ends: send the task-run events and logs still queued."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for service in (EventsWorker, APILogWorker):
        await service.drain_all(timeout=30, at_exit=False)


def _local_cluster(workers: int, threads: int) -> LocalCluster:
    import dask

    # Dask's default pre-spawn environment sets OMP_NUM_THREADS=1 in the host process too
    # (the worker-only environment below leaves the host's settings alone), and
    # MALLOC_TRIM_THRESHOLD_=65536, which also turns off glibc's adaptive mmap threshold:
    # every activation tensor then comes from a fresh mmap, page faults and all, and the
    # CNN trained 1.6x (one thread) to 2.4x (two) slower in a worker than in the host.
    with dask.config.set({"distributed.nanny.pre-spawn-environ": {}}):
        return LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
            env=worker_environment(threads), silence_logs=40,
        )


@contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """Warnings and errors only from ``logger`` (Dask logs every client and worker it sees)."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        log.setLevel(level)


@contextmanager
def _host_threads(threads: int | None) -> Iterator[None]:
    """Stages in the host process: torch at ``threads`` for the run (None: as it is), restored after."""
    if threads is None:
        yield
        return
    import torch

    from fedring.ml.train import limit_threads

    before = torch.get_num_threads()
    limit_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def _api_for_workers() -> Iterator[None]:
    """Name the host's Prefect API in the settings that travel with each task, if unnamed."""
    if PREFECT_API_URL.value():
        yield
        return
    ctx = FlowRunContext.get()
    url = str(ctx.client.api_url).rstrip("/") if ctx and ctx.client else None
    if not url:
        yield
        return
    with temporary_settings(updates={PREFECT_API_URL: url}):
        yield
