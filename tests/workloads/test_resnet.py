"""ResNet-18 on MNIST: 11M parameters through the interface, on a few real images, on CPU."""

from __future__ import annotations

import numpy as np

from fedring.config import TrainingConfig
from fedring.ml.state import HEADER_BYTES, StateLayout
from fedring.storage import LocalStore
from fedring.workloads import evaluate_local, resolve_workload, train_local
from tests.data.helpers import npy_bytes


def test_resnet18_trains_on_an_accounts_digits_and_travels_at_its_float32_size(tmp_path, mnist):
    train_set, test = mnist
    store = LocalStore(tmp_path, "bucket-alpha", account="alpha")
    store.put("data/train/features.npy", npy_bytes(train_set.images[:17]))
    store.put("data/train/labels.npy", npy_bytes(train_set.labels[:17]))
    store.put("data/eval/features.npy", npy_bytes(test.images[:8]))
    store.put("data/eval/labels.npy", npy_bytes(test.labels[:8]))
    workload = resolve_workload("resnet18-mnist")
    model = workload.build_model(0)
    layout = StateLayout.of(model)
    start = layout.split(model.state_dict())

    update = train_local(workload, store, start, layout=layout, training=TrainingConfig(batch_size=8), seed=0, rnd=1)
    sums = evaluate_local(workload, store, update.state, layout=layout, seed=0)

    assert 11_100_000 < sum(p.numel() for p in model.parameters()) < 11_200_000
    assert len(layout.int_specs) == 20  # one num_batches_tracked per batch norm
    assert update.state.ints.tolist() == [2] * 20  # batches of 8, 8 and a skipped single image
    assert update.sums.examples == 16 and update.samples == 17
    assert not np.array_equal(update.state.floats, start.floats)
    assert sums.examples == 8
    wire = len(layout.encode(update.state))
    assert wire == HEADER_BYTES + 4 * layout.float_size + 8 * 20
    assert wire / (4 * layout.float_size) < 1.0001
