"""Parties: an account's keys are made once; the host sees client buckets only through its role."""

from __future__ import annotations

import pytest

from fedring.errors import AccessDenied, IntegrityError, ObjectNotFound
from fedring.layout import PARTITION_IMAGES, PUBLIC_KEYS_PREFIX
from fedring.round.party import client_party, ensure_keys
from fedring.storage import owner_store


def test_keys_are_made_once_and_published_once(fed):
    store = owner_store(fed.cfg, "alpha")
    before = store.list(PUBLIC_KEYS_PREFIX)

    ring = ensure_keys(fed.cfg, "alpha", store)

    assert store.list(PUBLIC_KEYS_PREFIX) == before and len(before) == 1
    assert ring.attributes == fed.parties["alpha"].keyring.attributes == {"alpha:self"}


def test_sealed_messages_are_bound_to_sender_recipient_round_and_stage(fed):
    alpha, beta = fed.parties["alpha"], fed.parties["beta"]
    blob = alpha.seal_to("beta", b"partial sum", rnd=1, stage="ring-hop")

    assert beta.open_from("alpha", blob, rnd=1, stage="ring-hop") == b"partial sum"
    for wrong in ({"rnd": 2, "stage": "ring-hop"}, {"rnd": 1, "stage": "reveal"}):
        with pytest.raises(IntegrityError):
            beta.open_from("alpha", blob, **wrong)
    with pytest.raises(IntegrityError):
        beta.open_from("gamma", blob, rnd=1, stage="ring-hop")


def test_a_sent_message_is_signed_by_its_sender_and_cannot_be_claimed_by_another(fed):
    alpha, beta = fed.parties["alpha"], fed.parties["beta"]
    blob = alpha.send("beta", b"partial sum", rnd=1, stage="ring-hop")

    assert beta.receive("alpha", blob, rnd=1, stage="ring-hop") == b"partial sum"
    with pytest.raises(IntegrityError, match="signed by 'alpha', not 'gamma'"):
        beta.receive("gamma", blob, rnd=1, stage="ring-hop")


def test_the_host_reads_only_outboxes_and_public_keys_of_a_client(fed):
    view = fed.host.view("alpha")

    assert view.list(PUBLIC_KEYS_PREFIX)
    with pytest.raises(AccessDenied):
        view.get(PARTITION_IMAGES)
    with pytest.raises(AccessDenied):
        view.put("private/unit/0001/x", b"x")


def test_a_client_without_a_delivered_directory_cannot_start_a_stage(fed):
    cfg = fed.cfg.model_copy(update={"run": "other"})
    with pytest.raises(ObjectNotFound, match="inbox/other/0000/directory/keys.json"):
        client_party(cfg, "alpha")


def test_pins_from_this_machines_key_files_follow_a_replaced_or_removed_identity(fed):
    from fedring.errors import ConfigError
    from fedring.keys import Identity
    from fedring.round.party import IDENTITY_FILE, keys_dir, pins

    path = keys_dir(fed.cfg, "beta") / IDENTITY_FILE
    assert pins(fed.cfg)["beta"] == Identity.load(path).signing_public

    replacement = Identity.create("beta")  # the operator replaced beta's identity on this machine
    path.unlink()
    replacement.save(path)
    assert pins(fed.cfg)["beta"] == replacement.signing_public

    path.unlink()
    with pytest.raises(ConfigError, match="account 'beta' has no pinned identity key"):
        pins(fed.cfg)


def test_a_stages_pin_book_reads_a_pin_when_a_signature_needs_it(fed):
    """Lazily, as ``pins`` eagerly: a pin is read once per book (a stage), a replaced identity is seen
    by the next book, a missing one named when it is needed, a stranger is not a member."""
    from fedring.errors import ConfigError
    from fedring.keys import Identity
    from fedring.round.party import IDENTITY_FILE, PinBook, keys_dir, pins

    book = PinBook(fed.cfg)
    original = book["beta"]
    assert dict(book) == pins(fed.cfg) and list(book) == [fed.cfg.host.name, *(a.name for a in fed.cfg.accounts)]
    assert "mallory" not in book

    path = keys_dir(fed.cfg, "beta") / IDENTITY_FILE
    replacement = Identity.create("beta")
    path.unlink()
    replacement.save(path)
    assert book["beta"] == original  # this stage's book keeps the pin it read
    assert PinBook(fed.cfg)["beta"] == replacement.signing_public  # the next stage reads the file again
    path.chmod(0o640)
    with pytest.raises(ConfigError, match="is accessible by others"):
        PinBook(fed.cfg)["beta"]  # a file others may read is refused, even though its pin was read before
    path.chmod(0o600)

    path.unlink()
    later = PinBook(fed.cfg)
    assert "beta" in later and later["alpha"] == Identity.load(keys_dir(fed.cfg, "alpha") / IDENTITY_FILE).signing_public
    with pytest.raises(ConfigError, match="account 'beta' has no pinned identity key"):
        later["beta"]


def test_a_stage_parses_an_accepted_directory_once_and_a_different_copy_on_its_own(fed):
    """Equal accepted copies share one parse; a host that hands one account a different directory
    (here without gamma's keys) cannot make it read another account's parse."""
    from fedring.layout import directory
    from fedring.round.party import host_party, latest_public_keys
    from fedring.round.wire import encode_bundle

    alpha, beta = client_party(fed.cfg, "alpha"), client_party(fed.cfg, "beta")
    assert alpha.directory is beta.directory  # the same delivered bytes: parsed once in this process
    assert client_party(fed.cfg, "alpha").directory is alpha.directory

    other = fed.cfg.model_copy(update={"run": "other"})
    host = host_party(other)
    docs = {host.name: latest_public_keys(host.store)} | {a: latest_public_keys(host.view(a)) for a in fed.roster}
    host.view("alpha").put(directory("other"), encode_bundle({k: v for k, v in docs.items() if k != "gamma"}))
    host.view("beta").put(directory("other"), encode_bundle(docs))

    assert "gamma:self" not in client_party(other, "alpha").directory
    assert "gamma:self" in client_party(other, "beta").directory
    assert "gamma:self" not in client_party(other, "alpha").directory  # alpha's own accepted copy, again
