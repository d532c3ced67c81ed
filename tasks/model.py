"""Host tasks on the global model: broadcast it, evaluate it."""

from __future__ import annotations

from prefect import task

from fedring.config import FederationConfig
from fedring.ml.data import load_mnist
from fedring.ml.weights import from_bytes
from fedring.round import model as core
from fedring.round.evaluate import evaluate_vector
from fedring.round.party import Host
from fedring.storage import host_store
from tasks._retry import RETRY_OPTIONS


@task(name="broadcast", task_run_name="broadcast-round-{rnd}", persist_result=False, **RETRY_OPTIONS)
def broadcast(cfg: FederationConfig, rnd: int, accounts: list[str]) -> int:
    """Copy the global model of round ``rnd - 1`` into each account's inbox; returns bytes sent."""
    return core.broadcast(cfg, rnd, accounts)


@task(name="evaluate", task_run_name="evaluate-round-{rnd}", persist_result=False, **RETRY_OPTIONS)
def evaluate(cfg: FederationConfig, model_key: str, rnd: int, host: Host | None = None) -> dict:
    """Accuracy and loss of round ``rnd``'s global model on the held-out test set.

    ``host`` opens the sealed model of a secure run; a plaintext model is read as is.
    """
    _, test = load_mnist(cfg.data_dir)
    blob = host_store(cfg).get(model_key)
    vector = from_bytes(blob) if host is None else core.open_model(host, blob, rnd=rnd, host=host.name)
    result = evaluate_vector(vector, test.head(cfg.training.eval_limit))
    return {"accuracy": result.accuracy, "loss": result.loss}
