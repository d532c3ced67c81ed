"""The generic state codec: any state dict splits into (float32, int64) vectors and back, exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from fedring.errors import ConfigError, IntegrityError, StateMismatch
from fedring.ml.model import build_model
from fedring.ml.state import (
    FLOAT_DTYPES,
    HEADER_BYTES,
    INT_DTYPES,
    ModelState,
    StateLayout,
    apply_mean_increment,
    int_increment,
)


def _tensor(dtype: str, shape: tuple[int, ...], seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    if dtype in FLOAT_DTYPES:
        return (torch.randn(shape, generator=gen, dtype=torch.float64) * 100).to(getattr(torch, dtype))
    if dtype == "bool":
        return torch.randint(0, 2, shape, generator=gen).to(torch.bool)
    info = np.iinfo(getattr(np, dtype))
    lo, hi = max(int(info.min), -(2**40)), min(int(info.max), 2**40)
    return torch.randint(lo, hi, shape, generator=gen, dtype=torch.int64).to(getattr(torch, dtype))


states = st.lists(
    st.tuples(
        st.sampled_from(FLOAT_DTYPES + INT_DTYPES),
        st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple),
        st.integers(0, 2**31),
    ),
    min_size=1,
    max_size=6,
).map(lambda rows: {f"layer{i}.t": _tensor(dt, shape, seed) for i, (dt, shape, seed) in enumerate(rows)})


@settings(max_examples=150, deadline=None)
@given(states)
def test_any_state_dict_round_trips_through_vectors_and_bytes(state):
    layout = StateLayout.of(state)

    vectors = layout.split(state)
    again = layout.join(layout.decode(layout.encode(vectors)))

    assert vectors.floats.dtype == np.float32 and vectors.ints.dtype == np.int64
    assert list(again) == list(state)
    for name, tensor in state.items():
        assert again[name].dtype == tensor.dtype and again[name].shape == tensor.shape
        expected = tensor.to(torch.float32).to(tensor.dtype) if tensor.dtype == torch.float64 else tensor
        assert torch.equal(again[name], expected), name
    assert len(layout.encode(vectors)) == HEADER_BYTES + 4 * layout.float_size + 8 * layout.int_size


def test_the_cnn_costs_its_float32_size_and_keeps_num_batches_tracked_integer():
    model = build_model(3)
    layout = StateLayout.of(model)

    state = layout.split(model.state_dict())
    wire = layout.encode(state)

    assert [s.name for s in layout.int_specs] == ["features.1.num_batches_tracked", "features.5.num_batches_tracked"]
    assert layout.float_size == sum(t.numel() for t in model.state_dict().values()) - 2
    assert len(wire) / (4 * layout.float_size) < 1.0001


class Tiny(nn.Module):
    def __init__(self, width: int = 3, bias: bool = True) -> None:
        super().__init__()
        self.fc = nn.Linear(2, width, bias=bias)
        self.bn = nn.BatchNorm1d(width)


@pytest.mark.parametrize(
    "other,message",
    [
        (Tiny(width=4), "tensor 'fc.weight' has shape (4, 2) float32, the federation's model has shape (3, 2) float32"),
        (Tiny(bias=False), "the model has no tensor 'fc.bias'"),
        (Tiny().double(), "tensor 'fc.weight' has shape (3, 2) float64"),
    ],
)
def test_a_state_that_differs_names_the_tensor(other, message):
    layout = StateLayout.of(Tiny())

    with pytest.raises(StateMismatch) as info:
        layout.split(other.state_dict(), who="account 'beta'")

    assert str(info.value).startswith("account 'beta': ")
    assert message in str(info.value)


def test_an_extra_tensor_and_another_order_are_refused():
    layout = StateLayout.of(Tiny())
    state = Tiny().state_dict()
    extra = {**state, "head.weight": torch.zeros(1)}
    swapped = dict(reversed(list(state.items())))

    with pytest.raises(StateMismatch, match="tensor 'head.weight', which the federation's model lacks"):
        layout.split(extra)
    with pytest.raises(StateMismatch, match="another order"):
        layout.split(swapped)


def test_unsupported_dtypes_and_out_of_range_integers_are_refused():
    with pytest.raises(StateMismatch, match="tensor 'z' has dtype complex64"):
        StateLayout.of({"z": torch.zeros(2, dtype=torch.complex64)})
    layout = StateLayout.of({"w": torch.zeros(1), "count": torch.zeros(2, dtype=torch.uint8)})
    with pytest.raises(StateMismatch, match="tensor 'count': integer values outside uint8's range"):
        layout.join(ModelState(np.zeros(1, np.float32), np.array([3, 300], np.int64)))


def test_bytes_of_another_layout_or_tampered_bytes_fail():
    layout = StateLayout.of(Tiny())
    wire = layout.encode(layout.split(Tiny().state_dict()))

    with pytest.raises(StateMismatch, match="made for another model layout"):
        StateLayout.of(Tiny(width=4)).decode(wire)
    with pytest.raises(IntegrityError, match="truncated"):
        layout.decode(wire[:-1])
    with pytest.raises(IntegrityError, match="bad header"):
        layout.decode(b"JSON" + wire[4:])


def test_description_round_trips_for_a_manifest():
    layout = StateLayout.of(build_model(0))

    again = StateLayout.from_description(layout.describe())

    assert again.digest == layout.digest


def test_integer_buffers_advance_by_the_rounded_mean_increment():
    global_ints = np.array([10, 0, 7], dtype=np.int64)
    local = [np.array([15, 1, 7]), np.array([16, 2, 7]), np.array([16, 2, 7])]

    total = sum(int_increment(global_ints, v) for v in local)  # [17, 5, 0]
    merged = apply_mean_increment(global_ints, total, 3)

    assert merged.tolist() == [16, 2, 7]  # 10 + round(5.67), 0 + round(1.67), unchanged
    assert apply_mean_increment(np.array([0, 0]), np.array([3, -3]), 2).tolist() == [2, -1]  # half rounds up
    with pytest.raises(ConfigError):
        apply_mean_increment(global_ints, total, 0)


def test_batch_norm_counters_aggregate_as_integers_not_floats():
    """Two accounts take 3 and 4 steps: the global counter advances by round(3.5) = 4."""
    layout = StateLayout.of(Tiny())
    start = layout.split(Tiny().state_dict())
    trained = []
    for steps in (3, 4):
        model = layout.load_into(Tiny(), start)
        model.train()
        for _ in range(steps):
            model.bn(model.fc(torch.randn(5, 2)))
        trained.append(layout.split(model.state_dict()))

    total = sum(int_increment(start.ints, s.ints) for s in trained)
    merged = layout.join(ModelState(start.floats, apply_mean_increment(start.ints, total, 2)))

    assert merged["bn.num_batches_tracked"].dtype == torch.int64
    assert int(merged["bn.num_batches_tracked"]) == 4
