"""A user's workload, written as a user would (no fedring base class), and broken variants of it."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from fedring.data import Formats, load_account_data
from fedring.workloads import Sums, TrainOutcome

FORMATS = Formats(classes=("no", "yes"), arrays=True)


class TinyWorkload:
    """Two features, two classes, a linear model trained with plain SGD; counts true positives."""

    metrics = {"true_positives": "count", "margin_sum": "real"}
    classes = FORMATS.classes

    def __init__(self, width: int = 2) -> None:
        self.width = width

    def build_model(self, seed):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(self.width, 2))

    def load_data(self, store, prefix):
        return load_account_data(store, FORMATS, prefix)

    def train(self, model, examples, settings):
        x = torch.from_numpy(examples.features.astype(np.float32))
        y = torch.from_numpy(examples.labels)
        optimiser = torch.optim.SGD(model.parameters(), lr=settings.learning_rate)
        optimiser.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimiser.step()
        return TrainOutcome(model.state_dict(), len(y), Sums(loss.item() * len(y), 0, len(y)))

    def evaluate(self, model, examples):
        x = torch.from_numpy(examples.features.astype(np.float32))
        y = torch.from_numpy(examples.labels)
        with torch.no_grad():
            out = model(x)
        pred = out.argmax(1)
        margin = (out[:, 1] - out[:, 0]).sum().item()
        return Sums(
            float(nn.functional.cross_entropy(out, y, reduction="sum")),
            int((pred == y).sum()),
            len(y),
            {"true_positives": int(((pred == 1) & (y == 1)).sum()), "margin_sum": margin},
        )


def make_tiny(width: int = 2) -> TinyWorkload:
    """A factory: the federation file's options become its keyword arguments."""
    return TinyWorkload(width=width)


instance = TinyWorkload()


class NoTrain:
    def build_model(self, seed):
        return nn.Linear(2, 2)

    def load_data(self, store, prefix):
        return FORMATS

    def evaluate(self, model, examples):
        return Sums(0.0, 0, 0)


class WrongSignature(TinyWorkload):
    def train(self, model):  # forgot examples and settings
        return None


class ReturnsDict(TinyWorkload):
    def build_model(self, seed):
        return {"weight": torch.zeros(2)}


class ReturnsLoss(TinyWorkload):
    def train(self, model, examples, settings):
        return 0.5


class Explodes(TinyWorkload):
    def train(self, model, examples, settings):
        outcome = super().train(model, examples, settings)
        with torch.no_grad():
            model[0].weight.fill_(float("nan"))
        return outcome


class Crashes(TinyWorkload):
    def evaluate(self, model, examples):
        raise RuntimeError("CUDA out of memory (pretend)")


class BadMetrics(TinyWorkload):
    metrics = {"correct": "count"}


class ForgetsMetric(TinyWorkload):
    def evaluate(self, model, examples):
        sums = super().evaluate(model, examples)
        return Sums(sums.loss_sum, sums.correct, sums.examples, {"true_positives": 1})
