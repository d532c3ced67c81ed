"""Tampering, replay, and what the host can read, in real secure runs."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from fedring.round import ring as ring_core
from fedring.envelope import open_bytes, read_header_bytes
from fedring.errors import IntegrityError
from fedring.manifest import latest_manifest
from fedring.keys import identity_attribute, signed
from fedring.layout import round_model
from fedring.secagg import quantise
from fedring.round.party import host_party
from fedring.round.plan import RoundPlan
from fedring.storage import LocalStore
from fedring.storage import host_store, host_view, owner_store
from tests.flows.secure_helpers import ACCOUNTS, TrainingSpy, make_cfg

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]


def _overwrite(store: LocalStore, key: str, data: bytes) -> None:
    """What an attacker with write access to the bucket does: new bytes, matching checksum."""
    (store.base / key).write_bytes(data)
    meta = store.base / ".meta" / f"{key}.json"
    meta.write_text(json.dumps({"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}))


def _assert_round_two_not_committed(cfg) -> None:
    store = host_store(cfg)
    assert len(latest_manifest(store, cfg.run)["committed"]) == 1
    assert not store.exists(round_model(cfg.run, 2))


def test_modified_outbox_object_fails_the_round_with_integrity_error(tmp_path, monkeypatch):
    from flows.host import federated_training

    # Prepare: after beta's round-2 ring hop, a byte of its sealed partial sum is flipped.
    cfg = make_cfg(tmp_path, run="tamper")
    real = ring_core.ring_hop

    def hop_then_tamper(party, plan, *, to, came_from, host):
        result = real(party, plan, to=to, came_from=came_from, host=host)
        if party.name == "beta" and plan.rnd == 2:
            key = f"outbox/{plan.run}/0002/ring-hop/to-{to}"
            blob = bytearray(party.store.get(key))
            blob[len(blob) // 2] ^= 0x01
            _overwrite(party.store, key, bytes(blob))
        return result

    monkeypatch.setattr(ring_core, "ring_hop", hop_then_tamper)
    # Execute / Assert
    with pytest.raises(IntegrityError, match=r"ring-hop statement from beta: the body does not match the signed hash \(tampered\)"):
        federated_training(cfg)
    _assert_round_two_not_committed(cfg)


def test_object_replayed_from_the_previous_round_fails_with_integrity_error(tmp_path):
    from flows.host import federated_training

    # Prepare: one committed round; then beta's round-1 partial sum is planted as its round-2
    # output to every recipient it could have (the round-2 ring order is not known yet).
    cfg = make_cfg(tmp_path, run="replay", rounds=1)
    federated_training(cfg)
    beta = owner_store(cfg, "beta")
    old = beta.get([k for k in beta.list(f"outbox/{cfg.run}/0001/ring-hop/")][0])
    for target in ("alpha", "gamma", cfg.host.name):
        beta.put(f"outbox/{cfg.run}/0002/ring-hop/to-{target}", old)
    # Execute / Assert
    with pytest.raises(IntegrityError, match=r"ring-hop statement from beta: made for .*'round': 1.* \(replayed or moved\)"):
        federated_training(make_cfg(tmp_path, run="replay", rounds=2))
    _assert_round_two_not_committed(cfg)


def _host_readable(cfg) -> dict[str, bytes]:
    """Every object the host can read: its own bucket, and each client's outbox/ and public/."""
    found = {f"host:{k}": host_store(cfg).get(k) for k in host_store(cfg).list()}
    for name in ACCOUNTS:
        view = host_view(cfg, name)
        for prefix in ("outbox/", "public/"):
            found.update({f"{name}:{k}": view.get(k) for k in view.list(prefix)})
    return found


def _opened_by_host(cfg, blobs: dict[str, bytes]) -> dict[str, bytes]:
    """Everything sealed so that the host can open it (ring sums, reveals, models), opened."""
    host = host_party(cfg)
    opened = {}
    for where, blob in blobs.items():
        if blob.startswith(signed.MAGIC):  # a signed statement: the envelope is its body
            blob = blob.split(b"\n", 2)[2]
        try:
            header = read_header_bytes(blob)
        except IntegrityError:
            continue  # not an envelope
        if identity_attribute(host.name) in header.policy:
            opened[where] = bytes(open_bytes(host.keyring, blob, context=header.context))
    return opened


def _patterns(cfg, spy: TrainingSpy) -> dict[str, bytes]:
    """Leading bytes of each account's trained model, update and quantised update."""
    roster = latest_manifest(host_store(cfg), cfg.run)["roster"]
    out = {}
    for (name, rnd), (start, trained) in spy.seen.items():
        delta = trained - start
        plan = RoundPlan.create(cfg, roster, rnd)
        q, _ = quantise(delta, weight=plan.weight(name), clip=plan.clip, frac_bits=plan.frac_bits)
        for what, vec in (("model", trained), ("update", delta), ("quantised", q)):
            out[f"{name} round {rnd} {what}"] = np.ascontiguousarray(vec).tobytes()[4000:4256]
    return out


@pytest.mark.parametrize("secure", [True, False])
def test_what_the_host_can_read_reveals_no_single_update(tmp_path, monkeypatch, secure):
    from flows.host import federated_training

    cfg = make_cfg(tmp_path, run="scan", secure=secure)
    spy = TrainingSpy(monkeypatch)
    federated_training(cfg)
    readable = _host_readable(cfg)
    opened = _opened_by_host(cfg, readable) if secure else {}
    contents = {**readable, **{f"opened {k}": v for k, v in opened.items()}}
    leaks = {
        (pattern_name, where)
        for pattern_name, pattern in _patterns(cfg, spy).items()
        for where, data in contents.items()
        if pattern in data
    }
    if secure:
        assert len(spy.seen) == 2 * len(ACCOUNTS) and len(readable) > 50
        assert any("ring-hop" in k for k in opened) and any("reveal" in k for k in opened)
        assert leaks == set()
    else:  # the positive control: the same scan finds every plaintext model the host reads
        assert {(p.split(" ")[0], p.split(" ")[2]) for p, _ in leaks if p.endswith("model")} == {
            (a, r) for a in ACCOUNTS for r in ("1", "2")
        }
