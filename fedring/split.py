"""Give each account its private partition (the simulation's stand-in for data already in place).

In a real federation every account already holds its data; for MNIST experiments the
training set is split once per run and each part is written into that account's own
bucket under ``data/``. Re-running is a no-op when the partition is already there with
the same scheme and seed; a different request is refused instead of silently mixing.
"""

from __future__ import annotations

from fedring.config import FederationConfig
from fedring.errors import ConfigError
from fedring.layout import PARTITION_MANIFEST
from fedring.ml.data import Dataset
from fedring.ml.partition import partition
from fedring.ml.partition_io import partition_manifest, save_partition
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


def split_data(cfg: FederationConfig, train: Dataset, stores: dict[str, Store]) -> dict[str, dict]:
    """Write each account's partition unless an identical request already did; return manifests.

    ``stores`` may hold only some accounts (an organisation's agent places its own part):
    the split is the same, and only those accounts' parts are written.
    """
    data = train.head(cfg.partition.limit)
    scheme = describe_partition(cfg)
    manifests: dict[str, dict] = {}
    pending = []
    for acct in cfg.accounts:
        if acct.name not in stores:
            continue
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
    return manifests


def preflight(cfg: FederationConfig) -> Dataset:
    """Load the data and compute the split before anything is written or started.

    Bad input (missing data, an impossible split) fails here, leaving no run behind.
    """
    from fedring.ml.data import load_mnist

    if cfg.secagg.secure:
        from fedring.round.plan import check_plan

        check_plan(cfg)
    train, _ = load_mnist(cfg.data_dir)
    data = train.head(cfg.partition.limit)
    split_indices(cfg, len(data), data.labels)
    return train
