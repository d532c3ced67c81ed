"""Host tasks on the global model: broadcast it, evaluate it on the host's own test set."""

from __future__ import annotations

from prefect import task

from fedring.config import FederationConfig
from fedring.round import model as core
from fedring.round.evaluate import host_evaluation
from fedring.round.party import Host
from fedring.storage import host_store
from tasks._retry import RETRY_OPTIONS


@task(name="broadcast", task_run_name="broadcast-round-{rnd}", persist_result=False, **RETRY_OPTIONS)
def broadcast(cfg: FederationConfig, rnd: int, accounts: list[str], purpose: str = "", host: Host | None = None) -> int:
    """Copy the model a sum starts from (round ``rnd - 1``'s, or round ``rnd``'s to evaluate) into each inbox."""
    return core.broadcast(cfg, rnd, accounts, purpose=purpose, host=host)


@task(name="evaluate", task_run_name="evaluate-round-{rnd}", persist_result=False, **RETRY_OPTIONS)
def evaluate(cfg: FederationConfig, model_key: str, rnd: int, host: Host | None = None) -> dict:
    """Accuracy and loss of round ``rnd``'s global model on the host's own test set ({} without one).

    ``host`` opens the sealed model of a secure run; a plaintext model is read as is.
    """
    blob = host_store(cfg).get(model_key)
    state = blob if host is None else core.open_model(host, blob, rnd=rnd, host=host.name)
    return host_evaluation(cfg, state)
