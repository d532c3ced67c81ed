"""A client flow that reports where it ran, for the parallel-dispatch tests.

It lives in a module of its own so that Dask worker processes can import it by name,
as they import flows/client.py for the real stages.
"""

from __future__ import annotations

import os

from prefect import flow, task

from fedring.errors import StorageError


@task(name="probe", task_run_name="probe-{account}-round-{rnd}")
def probe(account: str, rnd: int, fail: dict[str, str]) -> dict:
    import torch

    if fail.get(account) == "offline":
        raise StorageError(f"{account} is offline")
    if fail.get(account) == "bug":
        raise RuntimeError(f"a bug in the stage of {account}")
    return {
        "pid": os.getpid(),
        "torch_threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "malloc_trim_threshold": os.environ.get("MALLOC_TRIM_THRESHOLD_"),
    }


@flow(name="client-probe")
def client_probe(account: str, rnd: int, fail: dict[str, str]) -> dict:
    """Where this account's stage ran: process, torch and OpenMP threads."""
    return probe(account, rnd, fail)
