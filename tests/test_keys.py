"""Keys: authorities issue and rotate, key rings and authorities persist privately."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from fedring.errors import ConfigError, IntegrityError, UnknownKey
from fedring.keys import (
    Authority,
    Identity,
    KeyRing,
    PublicDirectory,
    identity_attribute,
    key_id,
    new_account_keys,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_account_keys_issues_self() -> None:
    authority, ring = new_account_keys("acme")

    assert identity_attribute("acme") == "acme:self"
    assert ring.attributes == {"acme:self"}
    assert authority.attributes == {"acme:self"}
    assert ring.keys()[0] == authority.issue("self")


def test_issue_is_stable_and_rotate_bumps_the_epoch() -> None:
    authority = Authority.create("acme")
    first = authority.issue("eval")

    again = authority.issue("acme:eval")
    epoch = authority.rotate("eval")

    assert again == first and first.epoch == 1
    assert epoch == 2
    rotated = authority.issue("eval")
    assert rotated.epoch == 2 and rotated.key_id != first.key_id


def test_authority_refuses_other_authorities_and_unknown_rotation() -> None:
    authority = Authority.create("acme")

    with pytest.raises(ConfigError, match="cannot issue 'beta:x'"):
        authority.issue("beta:x")
    with pytest.raises(ConfigError, match="bad attribute"):
        authority.issue("Eval")
    with pytest.raises(UnknownKey, match="acme:eval"):
        authority.rotate("eval")
    with pytest.raises(ConfigError, match="authority"):
        Authority.create("Acme Corp")


def test_public_document_and_directory() -> None:
    acme, _ = new_account_keys("acme")
    acme.issue("eval")
    beta, _ = new_account_keys("beta")

    doc = acme.public_document()
    directory = PublicDirectory.from_documents([json.loads(json.dumps(doc))])
    merged = directory.merge(PublicDirectory.from_documents([beta.public_document()]))

    assert doc["authority"] == "acme" and set(doc["attributes"]) == {"acme:self", "acme:eval"}
    assert merged.attributes == {"acme:self", "acme:eval", "beta:self"}
    entry = merged.lookup("acme:eval")
    assert entry.key_id == key_id(entry.public) == acme.issue("eval").key_id
    with pytest.raises(UnknownKey, match="unknown key gamma:self in the public directory"):
        merged.lookup("gamma:self")


def test_directory_keeps_the_newest_epoch() -> None:
    acme, _ = new_account_keys("acme")
    old = PublicDirectory.from_documents([acme.public_document()])
    acme.rotate("self")

    merged = old.merge(PublicDirectory.from_documents([acme.public_document()]))

    assert merged.lookup("acme:self").epoch == 2
    assert old.merge(merged).lookup("acme:self").epoch == 2


def test_directory_refuses_a_document_speaking_for_another_authority() -> None:
    evil, _ = new_account_keys("evil")
    doc = evil.public_document()
    doc["attributes"]["acme:self"] = doc["attributes"].pop("evil:self")

    with pytest.raises(ConfigError, match="authority 'evil' publishes a key for 'acme:self'"):
        PublicDirectory.from_documents([doc])


def test_directory_refuses_a_key_that_does_not_match_its_id() -> None:
    acme, _ = new_account_keys("acme")
    doc = acme.public_document()
    doc["attributes"]["acme:self"]["key_id"] = "0" * 16

    with pytest.raises(ConfigError, match="does not match its key id"):
        PublicDirectory.from_documents([doc])


def test_authority_save_load_is_private(tmp_path: Path) -> None:
    authority, _ = new_account_keys("acme")
    path = tmp_path / "acme" / "authority.json"

    authority.save(path)
    loaded = Authority.load(path)

    assert mode(path) == 0o600
    assert loaded.public_document() == authority.public_document()
    assert loaded.issue("self") == authority.issue("self")


def test_key_ring_save_load(tmp_path: Path) -> None:
    acme, ring = new_account_keys("acme")
    beta, _ = new_account_keys("beta")
    ring.add(beta.issue("eval"))
    beta.rotate("eval")
    ring.add(beta.issue("eval"))
    target = tmp_path / "ring"

    ring.save(target)
    loaded = KeyRing.load(target)

    assert mode(target) == 0o700
    assert all(mode(p) == 0o600 for p in target.iterdir())
    assert loaded.keys() == ring.keys() and len(loaded.keys()) == 3
    assert loaded.attributes == {"acme:self", "beta:eval"}
    assert KeyRing.from_json(ring.to_json()).keys() == ring.keys()


def test_key_ring_refuses_files_others_can_read(tmp_path: Path) -> None:
    _, ring = new_account_keys("acme")
    ring.save(tmp_path)
    leaked = next(tmp_path.glob("*.key.json"))
    os.chmod(leaked, 0o644)

    with pytest.raises(ConfigError, match="chmod 600"):
        KeyRing.load(tmp_path)


def test_key_ring_find_requires_matching_epoch_and_id() -> None:
    acme, ring = new_account_keys("acme")
    key = ring.keys()[0]

    assert ring.find("acme:self", 1, key.key_id) == key
    assert ring.find("acme:self", 2, key.key_id) is None
    assert ring.find("acme:self", 1, "0" * 16) is None


def test_identity_signs_and_verifies(tmp_path: Path) -> None:
    identity = Identity.create("host")
    signature = identity.sign(b"registry entry")

    Identity.verify(identity.signing_public, b"registry entry", signature)
    identity.save(tmp_path / "identity.json")
    restored = Identity.load(tmp_path / "identity.json")

    assert restored.signing_public == identity.signing_public
    assert restored.encryption_public == identity.encryption_public
    assert len(signature) == 64
    with pytest.raises(IntegrityError, match="signature verification failed"):
        Identity.verify(identity.signing_public, b"registry entry!", signature)
