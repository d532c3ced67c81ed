"""The built-in MNIST workload trains exactly as the round's training did before workloads: bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fedring.config import TrainingConfig
from fedring.data import Examples
from fedring.errors import DataError
from fedring.ml.data import Dataset
from fedring.ml.model import build_model
from fedring.ml.partition_io import save_partition
from fedring.ml.state import StateLayout
from fedring.ml.train import evaluate, train
from fedring.ml.weights import load_vector, to_vector
from fedring.storage import LocalStore
from fedring.round.train import round_seed
from fedring.workloads import RoundSettings, resolve_workload, train_local
from fedring.workloads.mnist import MnistWorkload
from tests.data.helpers import npy_bytes, png_bytes


def _assert_same_state(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for name in a:
        assert a[name].dtype == b[name].dtype, name
        assert torch.equal(a[name], b[name]), name


def test_the_workload_trains_like_ml_train_bit_for_bit(mnist):
    train_set, _ = mnist
    images, labels = train_set.images[:640], train_set.labels[:640]
    before, after = build_model(7), build_model(7)

    result = train(before, images, labels, epochs=2, batch_size=64, learning_rate=1e-3, seed=123)
    outcome = MnistWorkload().train(
        after, Examples(images, labels, "mnist"), RoundSettings(epochs=2, batch_size=64, learning_rate=1e-3, seed=123, rnd=1)
    )

    _assert_same_state(before.state_dict(), dict(outcome.state))
    assert outcome.sums.loss_sum / outcome.sums.examples == result.loss
    assert outcome.samples == result.samples == 640
    assert 0 < outcome.sums.correct <= 640


def test_train_local_equals_what_the_round_trained_before_workloads(tmp_path, mnist):
    # Before workloads, the round trained the demo partition with fedring.ml.train.train, the
    # model loaded from a float vector, round r's learning rate decayed and a per-(account,
    # round) seed (the code of fedring.round.train.train_on_partition, which this replaced).
    train_set, _ = mnist
    store = LocalStore(tmp_path, "bucket-beta", account="beta")
    save_partition(store, Dataset(train_set.images[:600], train_set.labels[:600]), scheme="iid", seed=0, source="t")
    training = TrainingConfig(local_epochs=1, batch_size=32, learning_rate=2e-3, lr_decay=0.5)
    initial = build_model(4)
    layout = StateLayout.of(initial)

    before = load_vector(build_model(), to_vector(initial))
    result = train(before, train_set.images[:600], train_set.labels[:600], epochs=1, batch_size=32,
                   learning_rate=2e-3 * 0.5 ** 2, seed=round_seed(5, "beta", 3))
    update = train_local(resolve_workload("mnist"), store, layout.split(initial.state_dict()),
                         layout=layout, training=training, seed=5, rnd=3)

    _assert_same_state(before.state_dict(), layout.join(update.state))
    assert update.samples == result.samples
    assert update.state.ints.tolist() == [19, 19]  # 600 images / 32 = 19 steps per batch-norm layer


def test_evaluation_sums_give_the_same_accuracy_and_loss(mnist):
    _, test = mnist
    model = build_model(2)
    images, labels = test.images[:500], test.labels[:500]

    accuracy, loss = evaluate(model, images, labels)
    sums = MnistWorkload().evaluate(model, Examples(images, labels, "t"))

    assert (sums.accuracy, sums.mean_loss, sums.examples) == (accuracy, loss, 500)


def test_an_image_folder_of_digits_reads_as_the_same_pixels(tmp_path, mnist):
    _, test = mnist
    store = LocalStore(tmp_path, "bucket-gamma", account="gamma")
    order = np.lexsort((np.arange(30), test.labels[:30]))  # keys sort by class, then file name
    for i in range(30):
        store.put(f"data/train/{test.labels[i]}/{i:03d}.png", png_bytes(test.images[i]))
    store.put("data/eval/features.npy", npy_bytes(test.images[30:40].reshape(10, 784)))
    store.put("data/eval/labels.npy", npy_bytes(test.labels[30:40]))

    data = MnistWorkload().load_data(store, "data/")

    np.testing.assert_array_equal(data.train.features, test.images[:30][order])
    np.testing.assert_array_equal(data.train.labels, test.labels[:30][order])
    assert len(data.evaluation) == 10


def test_images_of_another_shape_are_named(tmp_path):
    store = LocalStore(tmp_path, "bucket-delta", account="delta")
    store.put("data/train/features.npy", npy_bytes(np.zeros((2, 32, 32), dtype=np.uint8)))
    store.put("data/train/labels.npy", npy_bytes(np.zeros(2, dtype=np.int64)))
    workload = MnistWorkload()
    data = workload.load_data(store, "data/")

    with pytest.raises(DataError, match=r"data/train/features.npy: MNIST workloads read uint8 28x28 images, got uint8 \(32, 32\)"):
        workload.evaluate(build_model(0), data.train)
