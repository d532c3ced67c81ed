"""Verification without keys: signatures, cards, envelope framing; tampering fails everywhere."""

from __future__ import annotations

import hashlib
import json

import pytest

from fedring.errors import IntegrityError
from fedring.keys import Identity
from fedring import layout
from fedring.registry import load_model, share, verify_all
from fedring.registry.card import Card
from fedring.registry.signing import sign
from fedring.storage import host_store

ATTR = "account-1:researcher"


def overwrite(store, key: str, data: bytes) -> None:
    """What an attacker with write access to the bucket does: replace object and digest."""
    path, meta = store._paths(key)
    path.write_bytes(data)
    meta.write_text(json.dumps({"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}))


@pytest.fixture(scope="module")
def registry(trained):
    lab = trained.consumer("lab", ATTR)
    for model in ("clean", "envelope", "card", "forged"):
        share(trained.cfg, model=model, policy=ATTR, public_documents=[trained.public("account-1")])
    store = host_store(trained.cfg)
    blob = bytearray(store.get(layout.envelope("envelope", 1, 1)))
    blob[-100] ^= 1  # one payload bit
    overwrite(store, layout.envelope("envelope", 1, 1), bytes(blob))
    card = json.loads(store.get(layout.card("card", 1)))
    card["accuracy"] = 0.999
    overwrite(store, layout.card("card", 1), json.dumps(card).encode())
    mallory = Identity.create("mallory")
    forged_card = store.get(layout.card("forged", 1))
    forged = store.get(layout.envelope("clean", 1, 1))
    store.put(layout.envelope("forged", 1, 2), forged)
    store.put(layout.signature("forged", 1, 2), sign(mallory, "forged", 1, 2, forged_card, forged))
    return trained, lab, store


def test_verify_reports_every_version(registry) -> None:
    _, _, store = registry

    report = verify_all(store)

    status = {r["model"]: r["ok"] for r in report.results}
    assert status == {"clean": True, "envelope": False, "card": False, "forged": False}
    assert not report.ok
    errors = {r["model"]: r.get("error", "") for r in report.results}
    assert "differ from what the publisher signed" in errors["envelope"]
    assert "differ from what the publisher signed" in errors["card"]
    assert "not the publisher's" in errors["forged"]


@pytest.mark.parametrize("model", ["envelope", "card", "forged"])
def test_tampered_versions_do_not_open(registry, model: str) -> None:
    trained, lab, store = registry

    with pytest.raises(IntegrityError):
        load_model(store, model, lab)


def test_clean_version_opens(registry) -> None:
    trained, lab, store = registry

    assert load_model(store, "clean", lab).card["accuracy"] == trained.accuracy


def test_a_pinned_key_must_be_the_publishers(registry) -> None:
    _, _, store = registry

    with pytest.raises(IntegrityError, match="pinned"):
        verify_all(store, model="clean", signing_key=Identity.create("x").signing_public)


def test_weights_that_differ_from_the_card_are_refused(registry) -> None:
    _, _, store = registry
    card = Card.parse(store.get(layout.card("clean", 1)))

    with pytest.raises(IntegrityError, match="SHA-256"):
        card.check_weights(bytes(card["weights_bytes"]))
