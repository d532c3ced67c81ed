"""The run manifest: the run's source of truth, and the commit of each round.

The manifest is the run's source of truth. Committing round r writes the model, then
the metrics, then manifest ``r`` last, so a crash in between leaves round r
uncommitted and a rerun redoes it (every stage being idempotent, nothing is counted
twice).
"""

from __future__ import annotations

import json
import time

from fedring.config import FederationConfig
from fedring.errors import ConfigError
from fedring.layout import manifest, manifest_prefix, round_metrics, round_model
from fedring.ml.model import ARCHITECTURE
from fedring.storage import Store

# Settings that must not change when a run is resumed (rounds may grow).
_FROZEN = ("seed", "accounts", "partition", "secagg", "training.local_epochs", "training.batch_size")


def _pick(cfg_dict: dict, dotted: str) -> object:
    node: object = cfg_dict
    for part in dotted.split("."):
        node = node[part]  # type: ignore[index]
    return node


def latest_manifest(store: Store, run: str) -> dict | None:
    keys = store.list(manifest_prefix(run))
    return json.loads(store.get(keys[-1])) if keys else None


def start_run(store: Store, cfg: FederationConfig, roster: dict[str, int], initial: bytes) -> dict:
    """Create the run (manifest 0, initial model), or return its latest manifest to resume.

    A resumed run must keep the settings that shaped its data and protocol; the error
    names the first setting that differs.
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
    store.put(round_model(cfg.run, 0), initial)
    first = {
        "run": cfg.run,
        "architecture": ARCHITECTURE,
        "config": config,
        "roster": roster,
        "committed": [],
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    store.put(manifest(cfg.run, 0), json.dumps(first, indent=2).encode())
    return first


def commit_round(store: Store, current: dict, *, rnd: int, model: bytes, metrics: dict) -> dict:
    """Write model and metrics of round ``rnd``, then the manifest (last). Idempotent."""
    run = current["run"]
    done = len(current["committed"])
    if rnd <= done:
        return current
    if rnd != done + 1:
        raise ConfigError(f"round {rnd} cannot be committed after {done} committed rounds")
    store.put(round_model(run, rnd), model)
    store.put(round_metrics(run, rnd), json.dumps(metrics, indent=2).encode())
    following = dict(current, committed=[*current["committed"], metrics])
    store.put(manifest(run, rnd), json.dumps(following, indent=2).encode())
    return following
