"""Every object key of a federation, in one place; host and clients import the same names.

Client bucket ``B_i``::

    data/images.npy, data/labels.npy            the demo's simulated partition (``fedring demo``)
    data/manifest.json                          its size and label histogram
    data/<split>.csv | data/<split>.parquet     an owner's own data as a table (split: train, eval)
    data/<split>/features.npy, labels.npy       ... as arrays
    data/<split>/<class>/<image>                ... as a folder of images by class
    public/keys/<n>-<digest>.json               its authority's public keys, version n (latest wins)
    outbox/<run>/<round>/<stage>/<name>         what the host may read
    inbox/<run>/<round>/<stage>/<name>          what the host may write
    private/<run>/<round>/<stage>/<name>        its own state, sealed to itself

Host bucket ``B_h``::

    runs/<run>/manifest/<n>.json                manifest after n committed rounds (0 = start)
    runs/<run>/rounds/<r>/model                 global model after round r (0 = initial)
    runs/<run>/rounds/<r>/metrics.json          evaluation and stage timings of round r
    runs/<run>/rounds/<r>/<stage>/<name>        host-side stage outputs (ring sums, shares)
    registry/<model>/<version>/...              shared models

Manifests are immutable like every object: committing round r writes manifest ``r``
last, and the latest manifest is the one with the highest number.
"""

from __future__ import annotations

import re
from enum import StrEnum

DATA_PREFIX = "data/"
PUBLIC_PREFIX = "public/"
OUTBOX = "outbox/"
INBOX = "inbox/"
PRIVATE = "private/"

PARTITION_IMAGES = "data/images.npy"
PARTITION_LABELS = "data/labels.npy"
PARTITION_MANIFEST = "data/manifest.json"
PUBLIC_KEYS_PREFIX = "public/keys/"

DATA_SPLITS = ("train", "eval")
TABLE_FORMATS = ("parquet", "csv")

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class Stage(StrEnum):
    """Stage names, used in object keys, envelope contexts and Prefect task names."""

    TRAIN = "train"
    ADVERTISE = "advertise"
    CONTRIBUTE = "contribute"
    SHARES = "shares"
    RING_HOP = "ring-hop"
    REVEAL = "reveal"
    UNMASK = "unmask"
    AGGREGATE = "aggregate"
    COMMIT = "commit"
    UPDATE = "update"


def check_name(kind: str, value: str) -> str:
    """Account, run and model names go into keys and policies: lowercase, digits, dashes."""
    if not _NAME.match(value):
        from fedring.errors import ConfigError

        raise ConfigError(f"{kind} {value!r} must be 1-63 lowercase letters, digits or dashes")
    return value


def outbox(run: str, rnd: int, stage: str, name: str) -> str:
    return f"{OUTBOX}{run}/{rnd:04d}/{stage}/{name}"


def inbox(run: str, rnd: int, stage: str, name: str) -> str:
    return f"{INBOX}{run}/{rnd:04d}/{stage}/{name}"


def private(run: str, rnd: int, stage: str, name: str) -> str:
    return f"{PRIVATE}{run}/{rnd:04d}/{stage}/{name}"


def public_keys(version: int, digest: str) -> str:
    """Public key documents are versioned: issuing or rotating an attribute adds one."""
    return f"{PUBLIC_KEYS_PREFIX}{version:06d}-{digest[:16]}.json"


def run_prefix(run: str) -> str:
    return f"runs/{run}/"


def manifest(run: str, committed: int) -> str:
    return f"runs/{run}/manifest/{committed:04d}.json"


def manifest_prefix(run: str) -> str:
    return f"runs/{run}/manifest/"


def round_model(run: str, rnd: int) -> str:
    return f"runs/{run}/rounds/{rnd:04d}/model"


def round_metrics(run: str, rnd: int) -> str:
    return f"runs/{run}/rounds/{rnd:04d}/metrics.json"


def host_stage(run: str, rnd: int, stage: str, name: str) -> str:
    return f"runs/{run}/rounds/{rnd:04d}/{stage}/{name}"


def registry_prefix(model: str) -> str:
    return f"registry/{model}/"


def check_data_prefix(prefix: str) -> str:
    """An account's data prefix: ``data/`` or a folder under it, which the host's role never reads."""
    if not (prefix.startswith(DATA_PREFIX) and prefix.endswith("/")) or "//" in prefix or "/../" in f"/{prefix}":
        from fedring.errors import ConfigError

        raise ConfigError(f"data prefix {prefix!r} must be {DATA_PREFIX!r} or a folder under it ending in '/'")
    return prefix


def data_key(prefix: str, relative: str) -> str:
    """An owner's file ``relative`` (a path inside what it puts) under its data prefix."""
    return f"{check_data_prefix(prefix)}{relative}"


def data_table(prefix: str, split: str, fmt: str) -> str:
    return f"{prefix}{split}.{fmt}"


def data_split_folder(prefix: str, split: str) -> str:
    return f"{prefix}{split}/"


def data_array(prefix: str, split: str, name: str) -> str:
    return f"{prefix}{split}/{name}.npy"
