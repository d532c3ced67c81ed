"""Consuming: an organisation that never trained opens and predicts; others are refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fedring.errors import PolicyNotSatisfied
from fedring.ml.train import evaluate
from fedring.registry import load_model, predict, share
from fedring.registry.consume import AttributeRevoked
from fedring.storage import host_store
from tests.registry.helpers import ring

POLICY = "account-1:researcher or (account-2:auditor and account-3:auditor)"


@pytest.fixture(scope="module")
def shared(trained):
    lab = trained.consumer("lab", "account-1:researcher")
    half = trained.consumer("half", "account-2:auditor")
    trained.consumer("half-helper", "account-3:auditor")
    docs = [trained.public(a) for a in ("account-1", "account-2", "account-3")]
    share(trained.cfg, model="mnist", policy=POLICY, public_documents=docs)
    return trained, lab, half


def test_authorised_outsider_predicts_the_test_images_with_the_cards_accuracy(shared, mnist) -> None:
    trained, lab, _ = shared
    _, test = mnist

    model = load_model(host_store(trained.cfg), "mnist", lab)
    digits, _ = predict(model.module, test.images)
    accuracy = float(np.mean(digits == test.labels))
    loss = evaluate(model.module, test.images, test.labels)[1]

    assert isinstance(model.module, torch.nn.Module) and not model.module.training
    assert "lab" not in trained.cfg.model_dump_json()  # never a participant
    assert accuracy == model.card["accuracy"] == trained.accuracy
    assert loss == pytest.approx(model.card["loss"], rel=1e-6)
    assert (model.model, model.version, model.generation) == ("mnist", 1, 1)


def test_predict_matches_evaluation(shared, mnist) -> None:
    trained, lab, _ = shared
    _, test = mnist
    model = load_model(host_store(trained.cfg), "mnist:1", lab)

    digits, probs = predict(model.module, test.images[:1000])

    assert digits.shape == probs.shape == (1000,)
    assert ((probs > 0) & (probs <= 1)).all()
    expected = evaluate(model.module, test.images[:1000], test.labels[:1000])[0]
    assert np.mean(digits == test.labels[:1000]) == pytest.approx(expected)


def test_unauthorised_consumer_is_told_what_is_missing(shared) -> None:
    trained, _, half = shared

    with pytest.raises(PolicyNotSatisfied) as err:
        load_model(host_store(trained.cfg), "mnist", half)

    assert not isinstance(err.value, AttributeRevoked)
    assert err.value.missing == [["account-1:researcher"], ["account-3:auditor"]]
    assert "account-1:researcher" in str(err.value)
    assert "host:self" not in str(err.value)  # the publisher's own clause is not the consumer's concern


def test_a_participant_outside_the_policy_is_refused_too(shared) -> None:
    trained, _, _ = shared

    with pytest.raises(PolicyNotSatisfied):
        load_model(host_store(trained.cfg), "mnist", ring(trained.keys("account-1") / "ring"))


def test_the_host_can_open_what_it_published(shared) -> None:
    trained, _, _ = shared

    model = load_model(host_store(trained.cfg), "mnist", trained.keys("host") / "ring")

    assert model.card["accuracy"] == trained.accuracy
