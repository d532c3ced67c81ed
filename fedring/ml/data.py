"""MNIST through torchvision, from a local directory first.

Where the data comes from, in order:

1. ``data_dir`` passed by the caller (``--data-dir``), else
2. the ``FEDRING_DATA`` environment variable, else
3. ``../shared/data/mnist`` beside this repository, when it exists (its own demo and CI), else
4. torchvision's download into the cache (for users online).

A directory may hold the four IDX ``.gz`` files directly or be a torchvision root
(``MNIST/raw/``). The ``.gz`` files are copied into a writable cache root before
torchvision verifies their MD5s and unpacks them, so a read-only source is never
written to. There is no synthetic fallback: if nothing works, ``DataError`` says
what was tried.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fedring.errors import DataError

FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
ENV_VAR = "FEDRING_DATA"
CACHE_ENV_VAR = "FEDRING_CACHE"
SHARED_COPY = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"


@dataclass(frozen=True)
class Dataset:
    """Images as uint8 [N, 28, 28] and labels as int64 [N]."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def head(self, n: int | None) -> "Dataset":
        return self if n is None else Dataset(self.images[:n], self.labels[:n])


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV_VAR, Path.home() / ".cache" / "fedring"))


def _gz_dir(candidate: Path) -> Path | None:
    for d in (candidate, candidate / "MNIST" / "raw", candidate / "raw"):
        if all((d / f).is_file() for f in FILES):
            return d
    return None


def resolve_source(data_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """The directory holding the four .gz files, or None to download.

    An explicitly named directory (option or environment) must hold the files:
    asking for one and silently using another would hide a mistake.
    """
    for explicit, origin in ((data_dir, "--data-dir"), (os.environ.get(ENV_VAR), ENV_VAR)):
        if explicit:
            found = _gz_dir(Path(explicit).expanduser())
            if found is None:
                raise DataError(
                    f"{origin}={explicit} does not hold the MNIST files ({', '.join(FILES)}) "
                    f"directly or under MNIST/raw/"
                )
            return found
    return _gz_dir(SHARED_COPY)


def load_mnist(data_dir: str | os.PathLike[str] | None = None) -> tuple[Dataset, Dataset]:
    """(train, test) MNIST, from the first source that works (see the module docstring)."""
    from torchvision.datasets import MNIST

    source = resolve_source(data_dir)
    root = cache_root() / "mnist"
    raw = root / "MNIST" / "raw"
    if source is not None and source.resolve() != raw.resolve():
        raw.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            if not (raw / name).exists():
                shutil.copyfile(source / name, raw / name)
    try:
        train = MNIST(str(root), train=True, download=True)
        test = MNIST(str(root), train=False, download=True)
    except Exception as exc:  # torchvision raises RuntimeError / URLError / OSError
        raise DataError(
            "MNIST could not be loaded: pass --data-dir DIR, set "
            f"{ENV_VAR}=DIR (a directory with {FILES[0]} and the other three IDX .gz files), "
            f"or go online so torchvision can download it into {root} ({exc})"
        ) from exc
    return (
        Dataset(train.data.numpy(), train.targets.numpy().astype(np.int64)),
        Dataset(test.data.numpy(), test.targets.numpy().astype(np.int64)),
    )
