"""A round with client stages in worker processes is the sequential round, bit for bit:
on a local cluster, on an existing cluster named by its address, and when a worker is
SIGKILLed in the middle of the contribute stage.

Torch splits its reductions by thread, so the reference runs in the test process with
the workers' thread count (one on two cores): the same seed and thread count give the
same model in any process (fedring/ml/train.py, ``limit_threads``).
"""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

from fedring.config import ExecutionConfig
from fedring.layout import Stage, stage_record
from fedring.storage import host_store
from tests.flows.secure_helpers import final_model, make_cfg

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]

ROUNDS = 2


@pytest.fixture(autouse=True)
def _workers_from_config(monkeypatch):
    """conftest runs stages in the test process; here the configuration decides."""
    monkeypatch.delenv("FEDRING_WORKERS", raising=False)
    monkeypatch.delenv("FEDRING_DASK_ADDRESS", raising=False)


def _cfg(tmp_path, run: str, *, secure: bool = True, **execution):
    return make_cfg(tmp_path, run=run, secure=secure, rounds=ROUNDS, limit=1800,
                    execution=ExecutionConfig(**execution).model_dump())


def _models(cfg) -> list[bytes]:
    return [final_model(cfg, r).tobytes() for r in range(1, ROUNDS + 1)]


def _train(cfg) -> dict:
    from flows.host import federated_training

    return federated_training(cfg)


@pytest.fixture(scope="module")
def sequential(tmp_path_factory, prefect_harness):
    """The reference: stages in the test process, one after another, one torch thread."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FEDRING_WORKERS", "0")
        cfg = _cfg(tmp_path_factory.mktemp("seq"), "seq", threads=1)
        manifest = _train(cfg)
    return _models(cfg), [m["accuracy"] for m in manifest["committed"]]


def test_two_workers_give_the_sequential_models_bit_for_bit(tmp_path, sequential):
    cfg = _cfg(tmp_path, "par", workers=2)

    manifest = _train(cfg)

    assert _models(cfg) == sequential[0]
    assert [m["accuracy"] for m in manifest["committed"]] == sequential[1]
    assert manifest["committed"][-1]["participants"] == ["alpha", "beta", "gamma"]


def test_an_existing_cluster_named_in_the_environment_runs_the_stages(tmp_path, sequential, monkeypatch):
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        monkeypatch.setenv("FEDRING_DASK_ADDRESS", cluster.scheduler_address)
        cfg = _cfg(tmp_path, "addr")  # workers "auto": the address wins, no local cluster

        _train(cfg)

        executed = client.run(lambda dask_worker: dask_worker.state.executed_count)
        pids = client.run(os.getpid)
    assert _models(cfg) == sequential[0]
    assert len(executed) == 2 and all(n > 0 for n in executed.values())  # both workers ran stages
    assert os.getpid() not in pids.values()


def _worker_pids() -> list[int]:
    import psutil

    return [p.pid for p in psutil.Process().children() if "spawn_main" in " ".join(p.cmdline())]


def test_a_worker_sigkilled_during_contribute_changes_nothing(tmp_path, sequential):
    cfg = _cfg(tmp_path, "kill", workers=2)
    store = host_store(cfg)
    shares_done = stage_record(cfg.run, 1, Stage.SHARES, "decision")
    contribute_done = stage_record(cfg.run, 1, Stage.CONTRIBUTE, "decision")
    killed: dict = {}

    def kill_one_worker_once_contribute_starts() -> None:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and not store.exists(shares_done):
            time.sleep(0.05)
        time.sleep(0.3)
        pids = _worker_pids()
        if pids and not store.exists(contribute_done):
            os.kill(pids[0], signal.SIGKILL)
            killed.update(pid=pids[0], contribute_done=store.exists(contribute_done))

    killer = threading.Thread(target=kill_one_worker_once_contribute_starts, daemon=True)
    killer.start()
    manifest = _train(cfg)
    killer.join(timeout=5)

    assert killed.get("pid") and killed["contribute_done"] is False  # killed before contribute ended
    assert _models(cfg) == sequential[0]
    assert manifest["committed"][0]["participants"] == ["alpha", "beta", "gamma"]  # nobody dropped


def test_plain_rounds_in_workers_match_plain_rounds_in_process(tmp_path, monkeypatch):
    cfg_par = _cfg(tmp_path / "par", "plain-par", secure=False, workers=2)
    monkeypatch.setenv("FEDRING_WORKERS", "0")
    cfg_seq = _cfg(tmp_path / "seq", "plain-seq", secure=False, threads=1)
    _train(cfg_seq)
    monkeypatch.delenv("FEDRING_WORKERS")

    _train(cfg_par)

    assert [final_model(cfg_par, r).tobytes() for r in (1, 2)] == [final_model(cfg_seq, r).tobytes() for r in (1, 2)]
    assert np.array_equal(final_model(cfg_par), final_model(cfg_seq))
