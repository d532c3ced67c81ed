"""Host tasks shared by the plaintext and secure rounds: start, broadcast, evaluate, commit."""

from __future__ import annotations

from prefect import get_run_logger, task

from fedring.config import FederationConfig
from fedring.host import commit_round, evaluate_vector, latest_manifest, start_run
from fedring.layout import inbox, round_model
from fedring.ml.data import load_mnist
from fedring.ml.model import build_model
from fedring.ml.weights import from_bytes, to_bytes, to_vector
from fedring.storage import host_store, host_view
from fedring.training import GLOBAL_MODEL
from tasks._retry import RETRY_OPTIONS


@task(name="start-run", persist_result=False, **RETRY_OPTIONS)
def start(cfg: FederationConfig, roster: dict[str, int]) -> dict:
    """Create or resume the run; returns its latest manifest."""
    return start_run(host_store(cfg), cfg, roster, to_bytes(to_vector(build_model(cfg.seed))))


@task(name="broadcast", persist_result=False, **RETRY_OPTIONS)
def broadcast(cfg: FederationConfig, rnd: int, accounts: list[str]) -> int:
    """Copy the global model of round ``rnd - 1`` into each account's inbox; returns bytes sent."""
    model = host_store(cfg).get(round_model(cfg.run, rnd - 1))
    for name in accounts:
        host_view(cfg, name).put(inbox(cfg.run, rnd, GLOBAL_MODEL, "model"), model)
    return len(model) * len(accounts)


@task(name="evaluate", persist_result=False, **RETRY_OPTIONS)
def evaluate(cfg: FederationConfig, model_key: str, rnd: int) -> dict:
    """Accuracy and loss of round ``rnd``'s global model on the held-out test set."""
    _, test = load_mnist(cfg.data_dir)
    blob = host_store(cfg).get(model_key)
    if cfg.secagg.secure:
        from fedring.secure.host import host_party, open_model

        vector = open_model(host_party(cfg), blob, rnd=rnd, host=cfg.host.name)
    else:
        vector = from_bytes(blob)
    result = evaluate_vector(vector, test.head(cfg.training.eval_limit))
    return {"accuracy": result.accuracy, "loss": result.loss}


@task(name="commit", persist_result=False, **RETRY_OPTIONS)
def commit(cfg: FederationConfig, rnd: int, model_key: str, metrics: dict) -> dict:
    """Commit round ``rnd``: model, metrics, then the manifest last."""
    store = host_store(cfg)
    manifest = latest_manifest(store, cfg.run)
    following = commit_round(store, manifest, rnd=rnd, model=store.get(model_key), metrics=metrics)
    get_run_logger().info("round %d committed: accuracy %.4f", rnd, metrics["accuracy"])
    return following
