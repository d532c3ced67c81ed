"""The demo's simulation step: give each account a part of MNIST, as if it had always held it.

In a real federation every account already holds its data (``fedring data put``), and
``fedring run`` has no split step. ``fedring demo`` simulates one: the training set is
split once per run and each part written into that account's own bucket under ``data/``
(``data/images.npy``, ``data/labels.npy``), and the test set the same way
(``data/eval/features.npy``, ``labels.npy``: each account's eval split, which federated
evaluation sums). Re-running is a no-op when the partition is already there with the same
scheme and seed; a different request is refused instead of silently mixing.
"""

from __future__ import annotations

from fedring.config import FederationConfig
from fedring.errors import ConfigError
from fedring.layout import PARTITION_MANIFEST
from fedring.ml.data import Dataset
from fedring.ml.partition import partition
from fedring.ml.partition_io import partition_manifest, save_eval_split, save_partition
from fedring.storage import Store


def describe_partition(cfg: FederationConfig) -> str:
    p = cfg.partition
    if p.scheme == "dirichlet":
        return f"dirichlet(alpha={p.alpha})"
    if p.scheme == "shards":
        return f"shards(k={p.classes_per_account})"
    return "iid"


def split_indices(cfg: FederationConfig, n_images: int, labels) -> list:
    p = cfg.partition
    return partition(
        labels[:n_images],
        len(cfg.accounts),
        scheme=p.scheme,
        seed=cfg.seed,
        alpha=p.alpha,
        classes_per_account=p.classes_per_account,
    )


def split_data(cfg: FederationConfig, train: Dataset, stores: dict[str, Store], test: Dataset | None = None) -> dict[str, dict]:
    """Write each account's partition (and a part of ``test`` as its eval split) unless already there; return manifests."""
    data = train.head(cfg.partition.limit)
    scheme = describe_partition(cfg)
    manifests: dict[str, dict] = {}
    pending = []
    for acct in cfg.accounts:
        store = stores[acct.name]
        if store.exists(PARTITION_MANIFEST):
            found = partition_manifest(store)
            if (found["scheme"], found["seed"], found["source"]) != (scheme, cfg.seed, f"mnist[:{len(data)}]"):
                raise ConfigError(
                    f"account {acct.name!r} already holds a {found['scheme']} partition (seed {found['seed']}, "
                    f"{found['source']}); use a new storage root or run id for a different split"
                )
            manifests[acct.name] = found
        else:
            pending.append(acct.name)
    if pending:
        parts = split_indices(cfg, len(data), data.labels)
        for acct, idx in zip(cfg.accounts, parts, strict=True):
            if acct.name in pending:
                manifests[acct.name] = save_partition(
                    stores[acct.name],
                    Dataset(data.images[idx], data.labels[idx]),
                    scheme=scheme,
                    seed=cfg.seed,
                    source=f"mnist[:{len(data)}]",
                )
    if test is not None:
        held = test.head(cfg.training.eval_limit)
        for acct, idx in zip(cfg.accounts, split_indices(cfg, len(held), held.labels), strict=True):
            save_eval_split(stores[acct.name], Dataset(held.images[idx], held.labels[idx]))
    return manifests


def simulate_accounts(cfg: FederationConfig) -> dict[str, int]:
    """The demo's simulation step: each account's part of MNIST into its own bucket; training examples per account."""
    from fedring.ml.data import load_mnist
    from fedring.storage import owner_store

    train, test = load_mnist(cfg.data_dir)
    stores = {a.name: owner_store(cfg, a.name) for a in cfg.accounts}
    return {name: m["samples"] for name, m in split_data(cfg, train, stores, test).items()}


def preflight(cfg: FederationConfig, *, simulate: bool = False) -> None:
    """Check the settings, the workload and (for the demo's split) the data before anything is written or started.

    Bad input (a workload that does not import or lacks a verb, missing MNIST, an
    impossible split) fails here, leaving no run behind. Each account's own data is
    checked by the account when it enrols, before anything is committed.
    """
    from fedring.workloads.federation import federation_workload

    if cfg.secagg.secure:
        from fedring.round.plan import check_plan

        check_plan(cfg)
    federation_workload(cfg)
    if simulate:
        from fedring.ml.data import load_mnist

        train, _ = load_mnist(cfg.data_dir)
        data = train.head(cfg.partition.limit)
        split_indices(cfg, len(data), data.labels)
