"""The run manifest: the run's source of truth, and the commit of each round.

Committing round r writes the model, its signed digest (secure runs), the metrics, and
manifest ``r`` last: the single write of manifest ``r`` is the commit point. A crash in
between leaves round r uncommitted and a rerun redoes it. Every write is safe to
repeat: the model's bytes are those the aggregate kept, the digest's signature is
deterministic, and the metrics and manifest (which hold timings and a date) are written
once and adopted by a rerun (``Store.put_once``), so a resume never meets
``ObjectExists`` and never commits two versions of one round.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from fedring.config import FederationConfig
from fedring.errors import ConfigError
from fedring.layout import manifest, manifest_prefix, round_metrics, round_model, round_model_statement
from fedring.storage import Store

Signer = Callable[[bytes, int], bytes]  # (model bytes, round) -> the host's signed digest

# Settings that must not change when a run is resumed (rounds may grow).
_FROZEN = (
    "seed", "accounts", "partition", "secagg", "workload.name", "workload.options", "workload.data_prefix",
    "training.local_epochs", "training.batch_size",
)


def _pick(cfg_dict: dict, dotted: str) -> object:
    node: object = cfg_dict
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def latest_manifest(store: Store, run: str) -> dict | None:
    keys = store.list(manifest_prefix(run))
    return json.loads(store.get(keys[-1])) if keys else None


def start_run(
    store: Store, cfg: FederationConfig, roster: dict[str, int], initial: bytes, *, sign: Signer | None = None,
    record: dict | None = None,
) -> dict:
    """Create the run (manifest 0, initial model), or return its latest manifest to resume.

    A resumed run must keep the settings that shaped its data, model and protocol (the
    workload among them); the error names the first setting that differs. ``sign`` makes
    the host's signed digest of a model's bytes (secure runs); ``record`` is what manifest
    0 says of the model (the workload, its layout, the federated statistics it was built
    from).
    """
    found = latest_manifest(store, cfg.run)
    config = cfg.model_dump(mode="json")
    if found is not None:
        for field in _FROZEN:
            if _pick(found["config"], field) != _pick(config, field):
                raise ConfigError(
                    f"run {cfg.run!r} exists with a different {field}; resume it with the same "
                    f"settings or pick a new run id"
                )
        return found
    _put_model(store, cfg.run, 0, initial, sign)
    first = {
        "run": cfg.run,
        **(record or {}),
        "config": config,
        "roster": roster,
        "committed": [],
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return json.loads(store.put_once(manifest(cfg.run, 0), json.dumps(first, indent=2).encode()))


def _put_model(store: Store, run: str, rnd: int, model: bytes, sign: Signer | None) -> None:
    model = store.put_once(round_model(run, rnd), model)
    if sign is not None:
        store.put(round_model_statement(run, rnd), sign(model, rnd))


def commit_round(
    store: Store, current: dict, *, rnd: int, model: bytes, metrics: dict, sign: Signer | None = None
) -> dict:
    """Write model (and its signed digest) and metrics of round ``rnd``, then the manifest (last)."""
    run = current["run"]
    done = len(current["committed"])
    if rnd <= done:
        return current
    if rnd != done + 1:
        raise ConfigError(f"round {rnd} cannot be committed after {done} committed rounds")
    _put_model(store, run, rnd, model, sign)
    metrics = json.loads(store.put_once(round_metrics(run, rnd), json.dumps(metrics, indent=2).encode()))
    following = dict(current, committed=[*current["committed"], metrics])
    return json.loads(store.put_once(manifest(run, rnd), json.dumps(following, indent=2).encode()))
