"""Tasks that place each account's private partition in its own bucket."""

from __future__ import annotations

from prefect import get_run_logger, task

from fedring.config import FederationConfig
from fedring.layout import PARTITION_MANIFEST
from fedring.ml.data import load_mnist
from fedring.ml.partition_io import partition_manifest
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


@task(name="place-partition", task_run_name="place-partition-{account}", persist_result=False, **RETRY_OPTIONS)
def place_own_partition(cfg: FederationConfig, account: str) -> int:
    """Client (agent mode): keep the data in place, or write this account's own part of the split; its size.

    An organisation's data is already under ``data/`` in its bucket; for the MNIST
    simulation each agent cuts its own part of the same split the embedded default makes.
    """
    store = owner_store(cfg, account)
    if not store.exists(PARTITION_MANIFEST):
        train, _ = load_mnist(cfg.data_dir)
        split_data(cfg, train, {account: store})
    manifest = partition_manifest(store)
    get_run_logger().info("account %s: %d images, labels %s", account, manifest["samples"], manifest["label_histogram"])
    return int(manifest["samples"])
