"""Tasks that place each account's private partition in its own bucket."""

from __future__ import annotations

from prefect import get_run_logger, task

from fedring.config import FederationConfig
from fedring.ml.data import load_mnist
from fedring.split import split_data
from fedring.storage import owner_store
from tasks._retry import RETRY_OPTIONS


@task(name="split", task_run_name="split", persist_result=False, **RETRY_OPTIONS)
def split(cfg: FederationConfig) -> dict[str, int]:
    """Partition the training set and write each part into its account's bucket."""
    train, _ = load_mnist(cfg.data_dir)
    stores = {a.name: owner_store(cfg, a.name) for a in cfg.accounts}
    manifests = split_data(cfg, train, stores)
    for name, m in manifests.items():
        get_run_logger().info("account %s: %d images, labels %s", name, m["samples"], m["label_histogram"])
    return {name: m["samples"] for name, m in manifests.items()}
