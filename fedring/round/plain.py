"""The plaintext baseline round: FedAvg without secure aggregation, for comparison.

Each client trains through the federation's workload and publishes its whole updated
model (its encoded state) in its outbox; the host averages the floats weighted by sample
count (McMahan et al. 2017, arXiv:1602.05629) and advances integer buffers by the rounded
mean increment, as the secure round does. Evaluation and statistics sums are published
in the clear and added by the host. The host reads every account's model and sums: this
is what the secure round exists to prevent.
"""

from __future__ import annotations

import json

import numpy as np

from fedring.config import FederationConfig
from fedring.layout import (
    aggregate_model,
    global_model_in,
    plain_sums,
    plain_update,
    plain_update_meta,
    round_label,
    round_model,
    sum_totals,
)
from fedring.ml.state import ModelState, apply_mean_increment, int_increment
from fedring.ml.weights import weighted_average
from fedring.storage import Store, host_store, host_view
from fedring.workloads.federation import federation_workload
from fedring.workloads.local import train_local


def plain_contribute(store: Store, cfg: FederationConfig, rnd: int) -> dict:
    """Client: train and publish the whole updated model in ``outbox/``.

    Idempotent: if this round's update is already published, its metadata is returned.
    """
    from fedring.round.train import decode_model

    meta_key = plain_update_meta(cfg.run, rnd)
    if store.exists(meta_key):
        return json.loads(store.get(meta_key))
    fw = federation_workload(cfg)
    start = decode_model(fw, store.get(global_model_in(cfg.run, rnd)), account=store.account)
    update = train_local(fw.workload, store, start, layout=fw.layout, training=cfg.training, seed=cfg.seed, rnd=rnd,
                         prefix=fw.prefix)
    model = fw.layout.encode(update.state)
    store.put(plain_update(cfg.run, rnd), model)
    trained = update.sums
    meta = {"samples": update.samples, "loss_sum": trained.loss_sum, "examples": trained.examples,
            "correct": trained.correct, "train_seconds": round(update.seconds, 3), "bytes_sent": len(model)}
    store.put(meta_key, json.dumps(meta).encode())
    return meta


def plain_aggregate(cfg: FederationConfig, rnd: int, participants: list[str]) -> tuple[str, dict[str, dict]]:
    """Host: FedAvg of the participants' published models; the key of the result, and their metadata."""
    fw = federation_workload(cfg)
    out = aggregate_model(cfg.run, rnd)
    host = host_store(cfg)
    views = {name: host_view(cfg, name) for name in participants}
    metas = {name: json.loads(view.get(plain_update_meta(cfg.run, rnd))) for name, view in views.items()}
    if not host.exists(out):
        previous = fw.layout.decode(host.get(round_model(cfg.run, rnd - 1)))
        states = [fw.layout.decode(view.get(plain_update(cfg.run, rnd))) for view in views.values()]
        floats = weighted_average([s.floats for s in states], [metas[name]["samples"] for name in participants])
        increments = np.sum([int_increment(previous.ints, s.ints) for s in states], axis=0, dtype=np.int64)
        ints = apply_mean_increment(previous.ints, increments, len(states))
        host.put(out, fw.layout.encode(ModelState(floats, ints)))
    return out, metas


def publish_sums(store: Store, cfg: FederationConfig, rnd: int, purpose: str) -> dict:
    """Client: this account's evaluation (of round ``rnd``'s new model) or statistics sums, in the clear."""
    from fedring.round.evaluate import evaluation_sums
    from fedring.round.statistics import statistics_sums
    from fedring.round.train import decode_model

    label = round_label(rnd, purpose)
    key = plain_sums(cfg.run, label)
    if not store.exists(key):
        fw = federation_workload(cfg)
        if purpose == "eval":
            found = evaluation_sums(fw, store, decode_model(fw, store.get(global_model_in(cfg.run, label)), account=store.account))
        else:
            found = statistics_sums(fw, store)
        store.put(key, json.dumps(found.tolist()).encode())
    return {"bytes_sent": len(store.get(key))}


def add_sums(cfg: FederationConfig, rnd: int, purpose: str, participants: list[str]) -> np.ndarray:
    """Host: the total of the participants' published sums, kept once (a rerun adopts it)."""
    label = round_label(rnd, purpose)
    key = sum_totals(cfg.run, label)
    store = host_store(cfg)
    if not store.exists(key):
        found = [np.array(json.loads(host_view(cfg, a).get(plain_sums(cfg.run, label))), dtype=np.int64) for a in participants]
        record = {"totals": np.sum(found, axis=0, dtype=np.int64).tolist(), "survivors": participants}
        store.put_once(key, json.dumps(record).encode())
    return np.array(json.loads(store.get(key))["totals"], dtype=np.int64)


def plain_evaluation(cfg: FederationConfig, rnd: int, participants: list[str], dropped: list[str]) -> dict:
    """Host: the federated evaluation of round ``rnd``'s model from the participants' published sums."""
    from fedring.round.evaluate import federated_metrics

    totals = add_sums(cfg, rnd, "eval", participants)
    return federated_metrics(federation_workload(cfg), totals, participants=participants, dropped=dropped)
