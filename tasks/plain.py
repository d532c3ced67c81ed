"""Tasks of the plaintext baseline round (FedAvg without secure aggregation)."""

from __future__ import annotations

import json

from prefect import get_run_logger, task

from fedring.config import FederationConfig
from fedring.layout import host_stage
from fedring.ml.weights import from_bytes, to_bytes, weighted_average
from fedring.storage import host_store, host_view, owner_store
from fedring.training import plain_contribute, plain_update_keys
from tasks._retry import RETRY_OPTIONS


@task(name="train", task_run_name="train-{account}-round-{rnd}", persist_result=False, **RETRY_OPTIONS)
def train_plain(cfg: FederationConfig, account: str, rnd: int) -> dict:
    """Train on the account's partition and publish the updated model in its outbox."""
    meta = plain_contribute(owner_store(cfg, account), run=cfg.run, rnd=rnd, training=cfg.training, seed=cfg.seed)
    get_run_logger().info("account %s round %d train: loss %.4f on %d images", account, rnd, meta["loss"], meta["samples"])
    return meta


@task(name="aggregate", persist_result=False, **RETRY_OPTIONS)
def aggregate_plain(cfg: FederationConfig, rnd: int, participants: list[str]) -> tuple[str, dict[str, dict]]:
    """FedAvg of the participants' published models: the host key of the result, and their metadata."""
    out = host_stage(cfg.run, rnd, "aggregate", "model")
    host = host_store(cfg)
    model_key, meta_key = plain_update_keys(cfg.run, rnd)
    views = {name: host_view(cfg, name) for name in participants}
    metas = {name: json.loads(view.get(meta_key)) for name, view in views.items()}
    if not host.exists(out):
        vectors = [from_bytes(view.get(model_key)) for view in views.values()]
        host.put(out, to_bytes(weighted_average(vectors, [metas[name]["samples"] for name in participants])))
    return out, metas
