"""Host tasks of the run: create or resume it, and commit a round (the manifest is written last)."""

from __future__ import annotations

from prefect import get_run_logger, task

from fedring.config import FederationConfig
import numpy as np

from fedring.data.statistics import finish
from fedring.manifest import Signer, commit_round, latest_manifest, start_run
from fedring.round.model import model_statement, seal_model
from fedring.round.party import Host
from fedring.round.plan import check_plan
from fedring.round.statistics import as_json
from fedring.storage import host_store
from fedring.workloads.federation import federation_workload
from tasks._retry import RETRY_OPTIONS


def _signer(host: Host | None) -> Signer | None:
    return None if host is None else (lambda blob, rnd: model_statement(host, blob, rnd=rnd))


def _initial(cfg: FederationConfig, statistics: list[int] | None) -> tuple[bytes, dict]:
    """The initial model's state (built from the federated statistics, if any) and what manifest 0 records of it."""
    fw = federation_workload(cfg)
    stats = finish(fw.statistics_spec(), np.array(statistics, dtype=np.int64)) if statistics is not None else None
    record = {"workload": fw.describe(cfg.workload.options)}
    if stats is not None:
        record["statistics"] = as_json(stats, fw.workload.classes)
    return fw.layout.encode(fw.initial_state(stats)), record


@task(name="needs-statistics", task_run_name="needs-statistics", persist_result=False, **RETRY_OPTIONS)
def needs_statistics(cfg: FederationConfig) -> bool:
    """Whether the run starts with a statistics sum: its workload declares statistics and the run is new."""
    return federation_workload(cfg).workload.stats_spec is not None and latest_manifest(host_store(cfg), cfg.run) is None


@task(name="statistics-report", task_run_name="statistics-report", persist_result=False, **RETRY_OPTIONS)
def statistics_report(cfg: FederationConfig, totals: list[int]) -> dict:
    """Finished statistics of the union of the accounts' data, from a statistics sum's totals."""
    fw = federation_workload(cfg)
    return as_json(finish(fw.statistics_spec(), np.array(totals, dtype=np.int64)), fw.workload.classes)


@task(name="start-run", task_run_name="start-run", persist_result=False, **RETRY_OPTIONS)
def start(cfg: FederationConfig, roster: dict[str, int], statistics: list[int] | None = None) -> dict:
    """Create or resume the plaintext run; returns its latest manifest."""
    initial, record = _initial(cfg, statistics)
    return start_run(host_store(cfg), cfg, roster, initial, record=record)


@task(name="start-run", task_run_name="start-run", persist_result=False, **RETRY_OPTIONS)
def start_secure(cfg: FederationConfig, roster: dict[str, int], host: Host, statistics: list[int] | None = None) -> dict:
    """Create or resume the secure run; the initial model is sealed to the participants and its digest signed."""
    check_plan(cfg)
    initial, record = _initial(cfg, statistics)
    sealed = seal_model(host, initial, rnd=0, participants=sorted(roster))
    return start_run(host.store, cfg, roster, sealed, sign=_signer(host), record=record)


@task(name="commit", task_run_name="commit-round-{rnd}", persist_result=False, **RETRY_OPTIONS)
def commit(cfg: FederationConfig, rnd: int, model_key: str, metrics: dict, host: Host | None = None) -> dict:
    """Commit round ``rnd``: model (and its signed digest), metrics, then the manifest last."""
    store = host_store(cfg)
    manifest = latest_manifest(store, cfg.run)
    following = commit_round(store, manifest, rnd=rnd, model=store.get(model_key), metrics=metrics, sign=_signer(host))
    get_run_logger().info("round %d committed", rnd)
    return following
