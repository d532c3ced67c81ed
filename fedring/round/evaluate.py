"""Evaluate: the accuracy and loss of a round's global model on the host's held-out test set."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fedring.ml.data import Dataset
from fedring.ml.model import build_model
from fedring.ml.train import evaluate
from fedring.ml.weights import load_vector


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    loss: float


def evaluate_vector(vector: np.ndarray, test: Dataset) -> Evaluation:
    acc, loss = evaluate(load_vector(build_model(), vector), test.images, test.labels)
    return Evaluation(accuracy=acc, loss=loss)
