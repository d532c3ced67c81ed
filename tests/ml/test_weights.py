import numpy as np
import pytest
import torch
from torch import nn

from fedring.errors import ConfigError, IntegrityError
from fedring.ml.model import build_model
from fedring.ml.weights import load_vector, to_vector, weighted_average


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(2, 1)
        self.bn = nn.BatchNorm1d(1)


def _tiny(weight: list[float], bias: float, mean: float, var: float, batches: int) -> Tiny:
    m = Tiny()
    with torch.no_grad():
        m.lin.weight.copy_(torch.tensor([weight]))
        m.lin.bias.fill_(bias)
        m.bn.weight.fill_(1.0)
        m.bn.bias.fill_(0.0)
        m.bn.running_mean.fill_(mean)
        m.bn.running_var.fill_(var)
        m.bn.num_batches_tracked.fill_(batches)
    return m


def test_weighted_average_matches_hand_computation_buffers_included():
    # Prepare: two models, sample counts 1 and 3 (weights 0.25 and 0.75)
    a = to_vector(_tiny([1.0, 2.0], 0.0, mean=4.0, var=1.0, batches=10))
    b = to_vector(_tiny([5.0, -2.0], 4.0, mean=0.0, var=5.0, batches=30))
    # Execute
    avg = weighted_average([a, b], [1, 3])
    merged = load_vector(Tiny(), avg)
    # Assert: 0.25*a + 0.75*b, entry by entry
    assert merged.lin.weight.tolist() == [[4.0, -1.0]]
    assert merged.lin.bias.item() == 3.0
    assert merged.bn.running_mean.item() == 1.0
    assert merged.bn.running_var.item() == 4.0
    assert merged.bn.num_batches_tracked.item() == 25


def test_vector_round_trip_is_exact_and_includes_batch_norm_buffers():
    model = build_model(seed=3)
    vec = to_vector(model)
    n_params = sum(p.numel() for p in model.parameters())
    n_buffers = sum(b.numel() for b in model.buffers())
    assert n_params == 421_834
    assert vec.size == n_params + n_buffers
    again = to_vector(load_vector(build_model(seed=9), vec))
    assert np.array_equal(vec, again)


def test_wrong_sized_vector_is_refused():
    with pytest.raises(IntegrityError, match="architecture needs"):
        load_vector(build_model(), np.zeros(10, dtype=np.float32))


def test_weighted_average_rejects_bad_counts():
    with pytest.raises(ConfigError, match="sample counts must be positive"):
        weighted_average([np.zeros(2, np.float32)], [0])
