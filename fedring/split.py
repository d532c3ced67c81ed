"""The demo's simulation step: give each account a part of MNIST, as if it had always held it.

In a real federation every account already holds its data (``fedring data put``), and
``fedring run`` has no split step. ``fedring demo`` simulates one (``simulate_accounts``):
the training set is split once and each part written into that account's own bucket under
``data/`` (``data/images.npy``, ``data/labels.npy``), and the test set the same way
(``data/eval/features.npy``, ``labels.npy``: each account's eval split, which federated
evaluation sums). The partition belongs to the account, not to a run: every run on the
same storage trains on it. Re-running is a no-op when the partition is already there
with the same scheme and seed; a different request is refused instead of silently mixing.

``preflight`` checks a whole configuration before anything is written or Prefect starts.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

from fedring.config import FederationConfig, workers_setting
from fedring.errors import ConfigError, DataError
from fedring.layout import PARTITION_MANIFEST, manifest, manifest_prefix
from fedring.ml.data import FILES, Dataset, resolve_source
from fedring.ml.partition import partition
from fedring.ml.partition_io import partition_manifest, save_eval_split, save_partition
from fedring.storage import Store, host_store, owner_store

TRAIN_LABELS = FILES[1]  # train-labels-idx1-ubyte.gz
IDX_LABELS_MAGIC = 2049  # IDX: unsigned bytes, one dimension


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


def check_partition(cfg: FederationConfig, account: str, found: dict, n_images: int) -> None:
    """Refuse a request for another split than the one ``account`` already holds."""
    wanted = (describe_partition(cfg), cfg.seed, f"mnist[:{n_images}]")
    held = (found["scheme"], found["seed"], found["source"])
    if held == wanted:
        return
    where = f"storage root {cfg.storage.root}" if cfg.storage.kind == "local" else f"bucket {cfg.account(account).bucket_name}"
    raise ConfigError(
        f"account {account!r} already holds the partition {held[0]} (seed {held[1]}, {held[2]}) in its {where}, "
        f"and this run asks for {wanted[0]} (seed {wanted[1]}, {wanted[2]}). The partition belongs to the "
        "account, not to a run, so a new run id does not change it: train with the partition settings it "
        "holds, or use another storage root (--run-dir for fedring demo, storage.root in a federation file)"
    )


def split_data(cfg: FederationConfig, train: Dataset, stores: dict[str, Store], test: Dataset | None = None) -> dict[str, dict]:
    """Write each account's partition (and its part of ``test`` as its eval split) unless already there; manifests.

    ``stores`` may hold only some accounts: the split is the same, and only those
    accounts' parts are written.
    """
    data = train.head(cfg.partition.limit)
    manifests: dict[str, dict] = {}
    pending = []
    for acct in cfg.accounts:
        if acct.name not in stores:
            continue
        store = stores[acct.name]
        if store.exists(PARTITION_MANIFEST):
            found = partition_manifest(store)
            check_partition(cfg, acct.name, found, len(data))
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
                    scheme=describe_partition(cfg),
                    seed=cfg.seed,
                    source=f"mnist[:{len(data)}]",
                )
    if test is not None:
        held = test.head(cfg.training.eval_limit)
        for acct, idx in zip(cfg.accounts, split_indices(cfg, len(held), held.labels), strict=True):
            if acct.name in stores:
                save_eval_split(stores[acct.name], Dataset(held.images[idx], held.labels[idx]))
    return manifests


def simulate_accounts(cfg: FederationConfig) -> dict[str, int]:
    """The demo's simulation step: each account's part of MNIST into its own bucket; training examples per account."""
    from fedring.ml.data import load_mnist

    train, test = load_mnist(cfg.data_dir)
    stores = {a.name: owner_store(cfg, a.name) for a in cfg.accounts}
    return {name: m["samples"] for name, m in split_data(cfg, train, stores, test).items()}


def _existing_store(cfg: FederationConfig, name: str) -> Store | None:
    """Account ``name``'s bucket if it may hold objects; a local bucket folder is never created here."""
    if cfg.storage.kind == "local" and not (Path(cfg.storage.root) / cfg.account(name).bucket_name).is_dir():
        return None
    return host_store(cfg) if name == cfg.host.name else owner_store(cfg, name)


def existing_runs(store: Store) -> list[str]:
    """The run ids that have a manifest in the host's bucket."""
    runs_root = os.path.commonprefix([manifest_prefix("a"), manifest_prefix("b")])  # what all runs share
    runs = set()
    for key in store.list(runs_root):
        run = key[len(runs_root):].split("/", 1)[0]
        if key == manifest(run, 0):
            runs.add(run)
    return sorted(runs)


def _check_storage_root(cfg: FederationConfig) -> None:
    if cfg.storage.kind != "local":
        return
    root = Path(cfg.storage.root)
    ancestor = root
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(f"storage.root {root}: {ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError(f"storage.root {root}: folder {ancestor} is not writable")


def check_inputs(cfg: FederationConfig, *, resume: bool = False) -> None:
    """Every check that needs neither the data set nor torch (about a second; see README).

    The secure-aggregation plan, the data source, the storage root, and with ``resume``
    that the run exists (the error lists the runs that do).
    """
    if cfg.secagg.secure:
        from fedring.round.plan import check_plan

        check_plan(cfg)
    resolve_source(cfg.data_dir)
    _check_storage_root(cfg)
    if resume:
        host = _existing_store(cfg, cfg.host.name)
        runs = existing_runs(host) if host is not None else []
        if cfg.run not in runs:
            raise ConfigError(
                f"--resume {cfg.run}: no such run in the host's bucket {cfg.host.bucket_name}; runs there: "
                f"{', '.join(runs) or 'none'} (without --resume, the file's run starts or resumes)"
            )


def mnist_train_labels(cfg: FederationConfig) -> np.ndarray:
    """MNIST's training labels for the pre-flight split.

    Read straight from the local IDX file (an 8-byte header, then one byte per label:
    about 0.05 s) rather than through torchvision, whose import alone takes 3 s here;
    torchvision, which also checks the files' MD5s, loads the data set in the flow.
    Without a local copy, torchvision downloads it now.
    """
    source = resolve_source(cfg.data_dir)
    if source is None:
        from fedring.ml.data import load_mnist

        return load_mnist(cfg.data_dir)[0].labels
    path = source / TRAIN_LABELS
    try:
        with gzip.open(path) as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read the MNIST training labels ({exc})") from exc
    magic, count = struct.unpack(">II", raw[:8]) if len(raw) >= 8 else (0, 0)
    if magic != IDX_LABELS_MAGIC or len(raw) != 8 + count:
        raise DataError(f"{path} is not an IDX label file (damaged or truncated?)")
    return np.frombuffer(raw, dtype=np.uint8, offset=8).astype(np.int64)


def preflight(cfg: FederationConfig, *, resume: bool = False, simulate: bool = False) -> None:
    """Check the whole configuration, the workload and (``simulate``: the demo's split) the data before anything is written.

    Bad input (a workload that does not import or lacks a verb, a missing data set, an
    impossible split, a partition that differs from the one an account holds, an unknown
    run to resume) fails here, before Prefect starts, leaving nothing behind. Resolving
    the workload builds its model (torch); the rest needs no torch. Each account's own
    data is checked by the account when it enrols, before anything is committed.
    """
    from fedring.workloads.federation import federation_workload

    check_inputs(cfg, resume=resume)
    workers_setting(cfg.execution.workers, os.environ)  # a bad FEDRING_WORKERS is refused before anything is written
    federation_workload(cfg)
    if not simulate:
        return
    labels = mnist_train_labels(cfg)[: cfg.partition.limit]
    split_indices(cfg, len(labels), labels)
    for acct in cfg.accounts:
        store = _existing_store(cfg, acct.name)
        if store is not None and store.exists(PARTITION_MANIFEST):
            check_partition(cfg, acct.name, partition_manifest(store), len(labels))
