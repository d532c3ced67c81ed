"""Publishing: new immutable versions, the card's contents, refusals that write nothing."""

from __future__ import annotations

import hashlib
import math
import json

import pytest

from fedring.errors import ConfigError, ObjectExists, PolicySyntaxError, UnknownKey
from fedring import layout
from fedring.registry import catalog, publish
from fedring.registry.ref import ModelRef
from fedring.registry.publish import share
from fedring.round.party import host_party
from fedring.storage import host_store

POLICY = "account-1:researcher"


@pytest.fixture(scope="module")
def shared(trained):
    trained.consumer("lab", POLICY)
    first = share(trained.cfg, model="mnist", policy=POLICY, public_documents=[trained.public("account-1")], now=0)
    second = share(trained.cfg, model="mnist", policy=POLICY, public_documents=[trained.public("account-1")], now=60)
    return trained, first, second


def test_publishing_twice_gives_two_versions(shared) -> None:
    trained, first, second = shared

    store = host_store(trained.cfg)

    assert (first.version, second.version) == (1, 2)
    assert catalog.version_numbers(store, "mnist") == [1, 2]
    assert store.get(layout.envelope("mnist", 1, 1)) != store.get(layout.envelope("mnist", 2, 1))  # fresh keys


def test_card_describes_the_run(shared) -> None:
    trained, first, _ = shared

    card = json.loads(host_store(trained.cfg).get(layout.card("mnist", 1)))
    weights = publish.open_round(host_party(trained.cfg), 1)

    assert card["workload"] == {"name": "mnist", "options": {}}
    float_entries = sum(math.prod(shape) for _, shape, dtype in card["layout"] if dtype == "float32")
    assert float_entries == 421_834 + 2 * (32 + 64)  # parameters, and batch norm's running means and variances
    assert [name for name, _, dtype in card["layout"] if dtype == "int64"] == [
        "features.1.num_batches_tracked", "features.5.num_batches_tracked"]
    assert card["weights_bytes"] == 52 + 4 * float_entries + 8 * 2
    assert (card["run"], card["round"], card["rounds"], card["accounts"]) == ("reg", 1, 1, 3)
    assert card["partition"]["scheme"] == "iid"
    assert card["metrics"] == [{"round": 1, "accuracy": trained.accuracy, "loss": trained.loss,
                                "participants": 3, "test_images": 10_000, "federated_accuracy": None,
                                "federated_loss": None, "federated_examples": None}]
    assert card["policy"] == POLICY and card["envelope_policy"] == f"({POLICY}) or host:self"
    assert card["created"] == "1970-01-01T00:00:00Z"
    assert card["weights_sha256"] == hashlib.sha256(weights).hexdigest()
    assert card["source"] == "runs/reg/rounds/0001/model"


def test_model_file_adds_at_most_one_percent(shared) -> None:
    trained, first, _ = shared

    assert first.envelope_bytes <= first.weights_bytes * 1.01


def test_versions_are_immutable(shared) -> None:
    trained, _, _ = shared
    store = host_store(trained.cfg)

    with pytest.raises(ObjectExists):
        store.put(layout.card("mnist", 1), b"{}")


def test_a_concurrent_publisher_of_the_same_number_fails_and_writes_no_card(shared, monkeypatch) -> None:
    trained, _, _ = shared
    store = host_store(trained.cfg)
    before = store.list(layout.REGISTRY)
    monkeypatch.setattr(catalog, "version_numbers", lambda *a, **k: [1])  # it saw only version 1

    with pytest.raises(ObjectExists):
        share(trained.cfg, model="mnist", policy=POLICY, public_documents=[trained.public("account-1")])

    assert store.list(layout.REGISTRY) == before


def test_an_attribute_nobody_published_is_refused_before_writing(shared) -> None:
    trained, _, _ = shared
    store = host_store(trained.cfg)
    before = store.list(layout.REGISTRY)

    with pytest.raises(UnknownKey) as err:
        share(trained.cfg, model="other", policy="consortium:auditor")

    assert "consortium:auditor" in str(err.value)
    assert store.list(layout.REGISTRY) == before


def test_bad_policy_and_round_are_named(shared) -> None:
    trained, _, _ = shared

    with pytest.raises(PolicySyntaxError):
        share(trained.cfg, model="other", policy="account-1:researcher or")
    with pytest.raises(ConfigError, match="--round 5"):
        share(trained.cfg, model="other", policy=POLICY, rnd=5, public_documents=[trained.public("account-1")])
    with pytest.raises(ConfigError, match="model name"):
        share(trained.cfg, model="Bad_Name", policy=POLICY, public_documents=[trained.public("account-1")])


def test_an_interrupted_publish_is_skipped_and_its_number_not_reused(shared) -> None:
    trained, _, _ = shared
    store = host_store(trained.cfg)
    store.put(layout.envelope("partial", 1, 1), b"half a publish")

    published = share(trained.cfg, model="partial", policy=POLICY, public_documents=[trained.public("account-1")])

    assert published.version == 2
    assert catalog.version_numbers(store, "partial") == [2]
    assert catalog.resolve(store, ModelRef("partial")) == 2
