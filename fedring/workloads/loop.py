"""The training and evaluation loops the built-in classifiers share (and users may reuse).

``train_classifier`` is ``fedring.ml.train.train`` step for step (Adam, cross-entropy, a
seeded permutation per epoch, dropout seeded per account and round), so a model trained
through it has the same weights bit for bit (``tests/workloads/test_mnist.py``); it also
counts correct predictions, which draws no random numbers. ``min_batch`` skips trailing
batches smaller than it (batch norm cannot train on one example with 1x1 feature maps).
"""

from __future__ import annotations

import torch
from torch import nn

from fedring.ml.train import classification_sums
from fedring.workloads.base import RoundSettings, Sums


def train_classifier(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, settings: RoundSettings, *, min_batch: int = 1
) -> Sums:
    """Train in place; return the sums of the last epoch (loss, correct, examples)."""
    gen = torch.Generator().manual_seed(settings.seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    loss_sum, correct, seen = 0.0, 0, 0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        for _ in range(settings.epochs):
            order = torch.randperm(len(y), generator=gen)
            loss_sum, correct, seen = 0.0, 0, 0
            for i in range(0, len(y), settings.batch_size):
                idx = order[i : i + settings.batch_size]
                if len(idx) < min_batch:
                    continue
                optimiser.zero_grad(set_to_none=True)
                out = model(x[idx])
                loss = loss_fn(out, y[idx])
                loss.backward()
                optimiser.step()
                loss_sum += loss.item() * len(idx)
                correct += int((out.detach().argmax(1) == y[idx]).sum())
                seen += len(idx)
    return Sums(loss_sum=loss_sum, correct=correct, examples=seen)


def evaluate_classifier(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 128) -> Sums:
    """Summed cross-entropy, correct predictions and examples, in eval mode (images in channels-last format)."""
    loss_sum, correct = classification_sums(model, x, y, batch_size)
    return Sums(loss_sum=loss_sum, correct=correct, examples=len(y))
