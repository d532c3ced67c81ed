"""Built-in ``mnist``: the reference CNN (``fedring.ml.model``) through the workload interface.

Data, in the account's bucket under the prefix, as any of:

- the demo's simulated partition, ``data/images.npy`` + ``data/labels.npy`` (written by
  ``fedring demo``'s split step), read as the training split;
- ``<split>/features.npy`` (uint8 [N, 28, 28] or [N, 784]) + ``<split>/labels.npy``;
- ``<split>/<digit>/<image>``: a folder of images by class ``0`` ... ``9`` (any size or
  colour; converted to 28x28 grey).

Training is ``fedring.ml.train.train`` step for step, so the weights are the same bit for
bit as the round's training before workloads existed.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from fedring.data.examples import AccountData, Examples
from fedring.data.images import ImageSchema
from fedring.data.load import Formats, load_account_data, load_split
from fedring.data.statistics import FederatedStats
from fedring.errors import DataError
from fedring.layout import DATA_PREFIX, PARTITION_IMAGES, PARTITION_MANIFEST
from fedring.ml.model import build_model
from fedring.ml.partition_io import load_partition
from fedring.ml.train import to_tensor
from fedring.storage import Store
from fedring.workloads.base import RoundSettings, Sums, TrainOutcome, Workload
from fedring.workloads.loop import evaluate_classifier, train_classifier

CLASSES = tuple(str(d) for d in range(10))
FORMATS = Formats(classes=CLASSES, images=ImageSchema(mode="L", size=(28, 28)), arrays=True)


def digit_tensors(examples: Examples) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised float images [N, 1, 28, 28] and int64 labels, or a ``DataError`` on other shapes."""
    images = examples.features
    if images.dtype == np.uint8 and images.shape[1:] == (784,):
        images = images.reshape(-1, 28, 28)
    if images.dtype != np.uint8 or images.shape[1:] != (28, 28):
        raise DataError(
            f"{examples.source}: MNIST workloads read uint8 28x28 images, got {images.dtype} {images.shape[1:]}"
        )
    return to_tensor(images), torch.from_numpy(examples.labels)


class MnistWorkload(Workload):
    """Digits 0-9 with the reference CNN (421,834 trainable parameters)."""

    classes = CLASSES
    min_batch = 1

    def build_model(self, seed: int, stats: FederatedStats | None = None) -> nn.Module:
        return build_model(seed)

    def load_data(self, store: Store, prefix: str) -> AccountData:
        if prefix == DATA_PREFIX and store.exists(PARTITION_MANIFEST):
            partition = load_partition(store)
            train = Examples(partition.images, partition.labels.astype(np.int64), PARTITION_IMAGES)
            return AccountData(train, load_split(store, prefix, "eval", FORMATS, required=False))
        return load_account_data(store, FORMATS, prefix)

    def train(self, model: nn.Module, examples: Examples, settings: RoundSettings) -> TrainOutcome:
        x, y = digit_tensors(examples)
        sums = train_classifier(model, x, y, settings, min_batch=self.min_batch)
        return TrainOutcome(model.state_dict(), len(examples), sums)

    def evaluate(self, model: nn.Module, examples: Examples) -> Sums:
        return evaluate_classifier(model, *digit_tensors(examples))

    def test_data(self, data_dir: str | None) -> Examples:
        """The host's held-out test set: MNIST's 10,000 test images (``fedring.ml.data.load_mnist``)."""
        from fedring.ml.data import load_mnist

        _, test = load_mnist(data_dir)
        return Examples(test.images, test.labels.astype(np.int64), "MNIST test set")
