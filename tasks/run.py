"""Host tasks of the run: create or resume it, and commit a round (the manifest is written last)."""

from __future__ import annotations

from prefect import get_run_logger, task

from fedring.config import FederationConfig
from fedring.manifest import Signer, commit_round, latest_manifest, start_run
from fedring.ml.model import build_model
from fedring.ml.weights import to_bytes, to_vector
from fedring.round.model import model_statement, seal_model
from fedring.round.party import Host
from fedring.round.plan import check_plan
from fedring.storage import host_store
from tasks._retry import RETRY_OPTIONS


def _signer(host: Host | None) -> Signer | None:
    return None if host is None else (lambda blob, rnd: model_statement(host, blob, rnd=rnd))


@task(name="start-run", task_run_name="start-run", persist_result=False, **RETRY_OPTIONS)
def start(cfg: FederationConfig, roster: dict[str, int]) -> dict:
    """Create or resume the plaintext run; returns its latest manifest."""
    return start_run(host_store(cfg), cfg, roster, to_bytes(to_vector(build_model(cfg.seed))))


@task(name="start-run", task_run_name="start-run", persist_result=False, **RETRY_OPTIONS)
def start_secure(cfg: FederationConfig, roster: dict[str, int], host: Host) -> dict:
    """Create or resume the secure run; the initial model is sealed to the participants and its digest signed."""
    check_plan(cfg)
    initial = seal_model(host, to_vector(build_model(cfg.seed)), rnd=0, participants=sorted(roster))
    return start_run(host.store, cfg, roster, initial, sign=_signer(host))


@task(name="commit", task_run_name="commit-round-{rnd}", persist_result=False, **RETRY_OPTIONS)
def commit(cfg: FederationConfig, rnd: int, model_key: str, metrics: dict, host: Host | None = None) -> dict:
    """Commit round ``rnd``: model (and its signed digest), metrics, then the manifest last."""
    store = host_store(cfg)
    manifest = latest_manifest(store, cfg.run)
    following = commit_round(store, manifest, rnd=rnd, model=store.get(model_key), metrics=metrics, sign=_signer(host))
    get_run_logger().info("round %d committed: accuracy %.4f", rnd, following["committed"][-1]["accuracy"])
    return following
