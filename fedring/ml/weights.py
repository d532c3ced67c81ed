"""Models as flat float32 vectors, and FedAvg's weighted average of float vectors.

A vector holds every parameter and every batch-norm buffer (running statistics and
``num_batches_tracked``) in ``state_dict`` order. The round no longer moves these
vectors (it moves a workload's state, ``fedring.ml.state``, whose integer buffers are
never averaged as floats); the Flower comparison (``benchmarks/peers/flower.py``) still
hands Flower the CNN as one such vector, and ``weighted_average`` averages the float
section of a state in the plaintext baseline.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from fedring.errors import ConfigError, IntegrityError


def to_vector(model: nn.Module) -> np.ndarray:
    """Every parameter and buffer of ``model`` as one float32 vector (a copy)."""
    parts = [t.detach().reshape(-1).to(torch.float32) for t in model.state_dict().values()]
    return torch.cat(parts).numpy().copy()


def load_vector(model: nn.Module, vector: np.ndarray) -> nn.Module:
    """Write ``vector`` into ``model`` in place (integer buffers are rounded)."""
    state = model.state_dict()
    expected = sum(t.numel() for t in state.values())
    if vector.shape != (expected,):
        raise IntegrityError(f"model vector has {vector.size} entries, the architecture needs {expected}")
    flat = torch.from_numpy(np.ascontiguousarray(vector, dtype=np.float32))
    offset = 0
    new_state = {}
    for name, tensor in state.items():
        n = tensor.numel()
        chunk = flat[offset : offset + n].reshape(tensor.shape)
        new_state[name] = chunk.round().to(tensor.dtype) if not tensor.is_floating_point() else chunk.clone()
        offset += n
    model.load_state_dict(new_state)
    return model


def weighted_average(vectors: Sequence[np.ndarray], counts: Sequence[int]) -> np.ndarray:
    """FedAvg (McMahan et al. 2017, arXiv:1602.05629): sum_i n_i w_i / sum_i n_i, in float64."""
    if len(vectors) != len(counts) or not vectors:
        raise ConfigError("weighted_average needs one sample count per vector, and at least one vector")
    if any(n <= 0 for n in counts):
        raise ConfigError("weighted_average: sample counts must be positive")
    total = float(sum(counts))
    acc = np.zeros(vectors[0].shape, dtype=np.float64)
    for vec, n in zip(vectors, counts, strict=True):
        acc += vec.astype(np.float64) * (n / total)
    return acc.astype(np.float32)
