"""The global model: sealed to the participants, opened by them and the host only."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from fedring.errors import IntegrityError, PolicyNotSatisfied
from fedring.keys import Identity, KeyRing
from fedring.layout import global_model_in, round_model
from fedring.round.model import broadcast, open_model, received_digest, received_model, seal_model
from fedring.round.party import Party


def test_participants_open_the_broadcast_model_and_an_outsider_cannot(fed):
    state = np.arange(10, dtype=np.float32).tobytes()
    blob = seal_model(fed.host, state, rnd=0, participants=["alpha", "beta"])

    assert open_model(fed.parties["alpha"], blob, rnd=0, host="host") == state
    assert open_model(fed.host, blob, rnd=0, host="host") == state
    with pytest.raises(PolicyNotSatisfied):
        open_model(fed.parties["gamma"], blob, rnd=0, host="host")
    outsider = Party("outsider", fed.parties["alpha"].store, KeyRing(), fed.host.directory, "unit",
                     Identity.create("outsider"), fed.host.pins)
    with pytest.raises(PolicyNotSatisfied):
        open_model(outsider, blob, rnd=0, host="host")
    with pytest.raises(IntegrityError):  # bound to its round
        open_model(fed.parties["alpha"], blob, rnd=1, host="host")


def test_broadcast_puts_the_previous_model_and_its_signed_digest_in_every_inbox(fed):
    broadcast(fed.cfg, 1, ["alpha", "beta", "gamma"])

    beta = fed.parties["beta"]
    digest = received_digest(beta, fed.plan(1), host="host")
    assert digest == hashlib.sha256(beta.store.get(global_model_in("unit", 1))).hexdigest()
    initial = open_model(fed.host, fed.host.store.get(round_model("unit", 0)), rnd=0, host="host")
    assert received_model(beta, fed.plan(1), host="host", digest=digest) == initial
