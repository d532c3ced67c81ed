"""The plaintext baseline round: FedAvg without secure aggregation, for comparison.

Each client trains and publishes its whole updated model in its outbox; the host
averages them weighted by sample count (McMahan et al. 2017, arXiv:1602.05629). The host
reads every account's model: this is what the secure round exists to prevent.
"""

from __future__ import annotations

import json

from fedring.config import FederationConfig, TrainingConfig
from fedring.layout import aggregate_model, global_model_in, plain_update, plain_update_meta
from fedring.ml.weights import from_bytes, to_bytes, weighted_average
from fedring.round import train
from fedring.storage import Store, host_store, host_view


def plain_contribute(store: Store, *, run: str, rnd: int, training: TrainingConfig, seed: int) -> dict:
    """Client: train and publish the whole updated model in ``outbox/``.

    Idempotent: if this round's update is already published, its metadata is returned.
    """
    meta_key = plain_update_meta(run, rnd)
    if store.exists(meta_key):
        return json.loads(store.get(meta_key))
    global_vector = from_bytes(store.get(global_model_in(run, rnd)))
    vector, result = train.train_on_partition(store, global_vector, training=training, seed=seed, rnd=rnd)
    store.put(plain_update(run, rnd), to_bytes(vector))
    meta = {"samples": result.samples, "loss": result.loss, "train_seconds": result.seconds, "bytes_sent": 4 * vector.size}
    store.put(meta_key, json.dumps(meta).encode())
    return meta


def plain_aggregate(cfg: FederationConfig, rnd: int, participants: list[str]) -> tuple[str, dict[str, dict]]:
    """Host: FedAvg of the participants' published models; the key of the result, and their metadata."""
    out = aggregate_model(cfg.run, rnd)
    host = host_store(cfg)
    views = {name: host_view(cfg, name) for name in participants}
    metas = {name: json.loads(view.get(plain_update_meta(cfg.run, rnd))) for name, view in views.items()}
    if not host.exists(out):
        vectors = [from_bytes(view.get(plain_update(cfg.run, rnd))) for view in views.values()]
        host.put(out, to_bytes(weighted_average(vectors, [metas[name]["samples"] for name in participants])))
    return out, metas
