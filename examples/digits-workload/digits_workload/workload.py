"""Handwritten digits, 8x8 grey images in folders by class, classified by a small CNN.

The federation file names this workload as ``digits_workload.workload:DigitsWorkload``;
every account installs this package and keeps its own images in its own bucket:

    data/train/<digit>/<file>.png      training images, one folder per digit 0-9
    data/eval/<digit>/<file>.png       optional: images for federated evaluation

Four verbs, and one extra evaluation sum (``top2_correct``): the host learns only the
total of each sum over the accounts.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from fedring.data import Formats, ImageSchema, load_account_data
from fedring.workloads import Sums, TrainOutcome, Workload
from fedring.workloads.loop import train_classifier

CLASSES = tuple(str(d) for d in range(10))


class DigitsWorkload(Workload):
    classes = CLASSES
    metrics = {"top2_correct": "count"}

    def __init__(self, channels: int = 16) -> None:
        self.channels = channels
        self.formats = Formats(classes=CLASSES, images=ImageSchema(mode="L", size=(8, 8)))

    def build_model(self, seed, stats=None):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return nn.Sequential(
                nn.Conv2d(1, self.channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Flatten(), nn.Linear(self.channels * 16, 64), nn.ReLU(), nn.Linear(64, 10),
            )

    def load_data(self, store, prefix):
        return load_account_data(store, self.formats, prefix)

    def train(self, model, examples, settings):
        x, y = _tensors(examples)
        sums = train_classifier(model, x, y, settings)  # Adam + cross-entropy, seeded; or write your own loop
        return TrainOutcome(model.state_dict(), len(examples), sums)

    @torch.no_grad()
    def evaluate(self, model, examples):
        x, y = _tensors(examples)
        model.eval()
        out = model(x)
        top2 = out.topk(2, dim=1).indices
        return Sums(
            loss_sum=nn.functional.cross_entropy(out, y, reduction="sum").item(),
            correct=int((out.argmax(1) == y).sum()),
            examples=len(y),
            extra={"top2_correct": int((top2 == y[:, None]).any(1).sum())},
        )


def _tensors(examples):
    x = torch.from_numpy(examples.features.astype(np.float32) / 255.0).unsqueeze(1)
    return x, torch.from_numpy(examples.labels)
