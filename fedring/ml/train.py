"""Local training and evaluation on in-memory tensors (no per-sample Python work).

Images arrive as uint8 arrays; they are normalised once into a float tensor and batches
are slices of a permuted index, so an epoch over 20,000 images is a few hundred
vectorised steps.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def limit_threads(threads: int) -> None:
    """Run torch's kernels on ``threads`` threads in this process, its inter-op pool on one.

    A client stage that shares the machine with other stages gets cores / concurrent
    stages, so that no thread waits for a core. The count is part of what fixes a trained
    model bit for bit: torch splits its reductions by thread (one and two threads give
    different bits here), so the same seed and thread count give the same model in any
    process. Training never uses the inter-op pool; it is kept at one thread so that
    nothing else competes for the cores.
    """
    torch.set_num_threads(threads)
    if torch.get_num_interop_threads() != 1:
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # settable only before this process's first inter-op work
            pass


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 [N, 28, 28] -> normalised float32 [N, 1, 28, 28]."""
    x = torch.from_numpy(np.ascontiguousarray(images)).to(torch.float32).div_(255.0)
    return x.sub_(MNIST_MEAN).div_(MNIST_STD).unsqueeze(1)


@dataclass(frozen=True)
class TrainResult:
    loss: float
    samples: int
    seconds: float


def train(
    model: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
) -> TrainResult:
    """Adam + cross-entropy for ``epochs`` passes; returns the mean loss of the last epoch."""
    start = time.perf_counter()
    x, y = to_tensor(images), torch.from_numpy(labels.astype(np.int64))
    gen = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    last_loss = 0.0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # dropout masks reproducible per (account, round)
        for _ in range(epochs):
            order = torch.randperm(len(y), generator=gen)
            total, seen = 0.0, 0
            for i in range(0, len(y), batch_size):
                idx = order[i : i + batch_size]
                optimiser.zero_grad(set_to_none=True)
                loss = loss_fn(model(x[idx]), y[idx])
                loss.backward()
                optimiser.step()
                total += loss.item() * len(idx)
                seen += len(idx)
            last_loss = total / max(seen, 1)
    return TrainResult(loss=last_loss, samples=len(y), seconds=time.perf_counter() - start)


@contextmanager
def channels_last(model: nn.Module, x: torch.Tensor) -> Iterator[torch.Tensor]:
    """Run ``model`` on images ``x`` in channels-last memory format, then give the model back as it was.

    Evaluation only (training keeps the default format, so trained weights stay the same
    bit for bit). On this machine's CPU, torch runs convolutions over channels-last
    tensors with oneDNN: the reference CNN's forward pass over 2,000 MNIST test images
    took 0.43 s instead of 0.79 s on one thread, with the same predictions
    (``benchmarks/bench_workloads.py --only layout``). Inputs that are not images pass unchanged.
    """
    if x.dim() != 4:
        yield x
        return
    model.to(memory_format=torch.channels_last)
    try:
        yield x.contiguous(memory_format=torch.channels_last)
    finally:
        model.to(memory_format=torch.contiguous_format)


def evaluate(model: nn.Module, images: np.ndarray, labels: np.ndarray, batch_size: int = 128) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) on the given images."""
    y = torch.from_numpy(labels.astype(np.int64))
    loss, correct = classification_sums(model, to_tensor(images), y, batch_size)
    return correct / len(y), loss / len(y)


@torch.no_grad()
def classification_sums(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 128) -> tuple[float, int]:
    """(summed cross-entropy, correct predictions), in eval mode, images in channels-last format.

    Small batches keep the activations in cache: on 10,000 MNIST test images here,
    batches of 128 took 1.4-1.9 s and batches of 2,000 took 3.6-4.0 s.
    """
    model.eval()
    loss, correct = 0.0, 0
    with channels_last(model, x) as x:
        for i in range(0, len(y), batch_size):
            out = model(x[i : i + batch_size])
            loss += nn.functional.cross_entropy(out, y[i : i + batch_size], reduction="sum").item()
            correct += int((out.argmax(1) == y[i : i + batch_size]).sum())
    return loss, correct
