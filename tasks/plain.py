"""Tasks of the plaintext baseline round (FedAvg without secure aggregation)."""

from __future__ import annotations

import json

from prefect import get_run_logger, task

from fedring.config import FederationConfig
from fedring.layout import host_stage
from fedring.ml.weights import from_bytes, to_bytes, weighted_average
from fedring.stores import host_store, host_view, owner_store
from fedring.training import plain_contribute, plain_update_keys
from tasks._retry import RETRY_OPTIONS


@task(name="train", persist_result=False, **RETRY_OPTIONS)
def train_plain(cfg: FederationConfig, account: str, rnd: int) -> dict:
    """Train on the account's partition and publish the updated model in its outbox."""
    meta = plain_contribute(owner_store(cfg, account), run=cfg.run, rnd=rnd, training=cfg.training, seed=cfg.seed)
    get_run_logger().info("account %s round %d train: loss %.4f on %d images", account, rnd, meta["loss"], meta["samples"])
    return meta


@task(name="aggregate", persist_result=False, **RETRY_OPTIONS)
def aggregate_plain(cfg: FederationConfig, rnd: int, participants: list[str]) -> str:
    """FedAvg of the participants' published models; returns the host key of the result."""
    out = host_stage(cfg.run, rnd, "aggregate", "model")
    host = host_store(cfg)
    if not host.exists(out):
        vectors, counts = [], []
        for name in participants:
            view = host_view(cfg, name)
            model_key, meta_key = plain_update_keys(cfg.run, rnd)
            vectors.append(from_bytes(view.get(model_key)))
            counts.append(json.loads(view.get(meta_key))["samples"])
        host.put(out, to_bytes(weighted_average(vectors, counts)))
    return out
