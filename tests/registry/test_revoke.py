"""Revocation: rotate, re-wrap without re-encrypting; old holders refused, current ones not."""

from __future__ import annotations

import pytest

from fedring.envelope import read_header_bytes
from fedring.errors import PolicyNotSatisfied
from fedring import layout
from fedring.registry import load_model, revoke, share
from fedring.registry.consume import AttributeRevoked
from fedring.storage import host_store

ATTR = "account-1:researcher"


@pytest.fixture(scope="module")
def revoked(trained):
    old = trained.consumer("old", ATTR)
    docs = [trained.public("account-1")]
    share(trained.cfg, model="mnist", policy=ATTR, public_documents=docs)
    share(trained.cfg, model="other", policy="account-2:self", public_documents=docs)
    store = host_store(trained.cfg)
    before = store.get(layout.envelope("mnist", 1, 1))
    report = revoke(trained.cfg, attribute=ATTR)
    current = trained.consumer("current", ATTR)  # issued after the rotation: epoch 2
    return trained, old, current, before, report


def test_report_names_what_was_rewrapped(revoked) -> None:
    _, _, _, _, report = revoked

    assert report.epoch == 2
    assert [(r["model"], r["version"], r["generation"], r["from_epoch"]) for r in report.rewrapped] == [("mnist", 1, 2, 1)]
    assert report.unchanged == ["other:1"]
    assert report.deleted == ["registry/mnist/000001/model/000001"]  # no longer served


def test_payload_is_not_reencrypted(revoked) -> None:
    trained, _, _, before, _ = revoked

    after = host_store(trained.cfg).get(layout.envelope("mnist", 1, 2))

    assert after[read_header_bytes(after).length:] == before[read_header_bytes(before).length:]


def test_old_epoch_holder_is_refused_naming_the_attribute(revoked) -> None:
    trained, old, _, _, _ = revoked

    with pytest.raises(PolicyNotSatisfied) as err:
        load_model(host_store(trained.cfg), "mnist", old)

    assert isinstance(err.value, AttributeRevoked)
    assert err.value.missing == [[ATTR]]
    assert ATTR in str(err.value) and "epoch 1" in str(err.value)


def test_current_holder_opens(revoked) -> None:
    trained, _, current, _, _ = revoked

    model = load_model(host_store(trained.cfg), "mnist", current)

    assert model.generation == 2 and model.card["accuracy"] == trained.accuracy


def test_rewrap_again_changes_nothing(revoked) -> None:
    trained, _, _, _, _ = revoked

    again = revoke(trained.cfg, attribute=ATTR, rotate_first=False)

    assert again.rewrapped == [] and sorted(again.unchanged) == ["mnist:1", "other:1"]


def test_a_second_rotation_serves_only_the_newest_envelope(revoked) -> None:
    trained, _, _, _, _ = revoked
    store = host_store(trained.cfg)

    report = revoke(trained.cfg, attribute=ATTR, store=store)

    assert report.epoch == 3
    assert report.deleted == ["registry/mnist/000001/model/000002"]
    assert store.list("registry/mnist/000001/model/") == ["registry/mnist/000001/model/000003"]
