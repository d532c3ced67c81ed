"""The global model of a round: sealed and signed by the host, broadcast, opened by the participants.

In the secure round the model of round r is sealed to the policy
``host:self or <every participant>:self``, bound to (run, r, commit, host ->
participants), and the host signs its digest (SHA-256 of the sealed bytes). Each client
checks that signature before it trains, and puts the digest in its signed advertisement,
so a host that sends different models to different clients is caught before anyone
masks (Pasquini et al., CCS 2022, describe what such a host gains). In the plaintext
baseline the model travels as raw float32 bytes.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from fedring.config import FederationConfig
from fedring.errors import IntegrityError
from fedring.keys import identity_attribute
from fedring.keys.signed import canonical
from fedring.layout import Stage, global_model_in, global_model_statement_in, round_model, round_model_statement
from fedring.ml.weights import from_bytes, to_bytes
from fedring.round.party import Party
from fedring.round.wire import PARTICIPANTS
from fedring.storage import host_store, host_view

MODEL = "model"  # the kind of the host's statement over a global model's digest


def participants_policy(names: list[str]) -> str:
    """The policy a round's global model is sealed to: any participant or the host."""
    return " or ".join(identity_attribute(n) for n in names)


def seal_model(host: Party, vector: np.ndarray, *, rnd: int, participants: list[str]) -> bytes:
    """The global model of round ``rnd``, sealed so that the host or any participant opens it."""
    policy = participants_policy([host.name, *participants])
    return host.seal_to(PARTICIPANTS, to_bytes(vector), rnd=rnd, stage=Stage.COMMIT, policy=policy)


def model_statement(host: Party, blob: bytes, *, rnd: int) -> bytes:
    """The host's signed digest of round ``rnd``'s sealed global model."""
    return host.sign(MODEL, canonical({"sha256": hashlib.sha256(blob).hexdigest()}), rnd=rnd)


def open_model(party: Party, blob: bytes, *, rnd: int, host: str) -> np.ndarray:
    """The global model of round ``rnd`` as a participant (or the host) opens it."""
    return from_bytes(party.open_from(host, blob, rnd=rnd, stage=Stage.COMMIT, recipient=PARTICIPANTS))


def broadcast(cfg: FederationConfig, rnd: int, accounts: list[str]) -> int:
    """Copy the global model of round ``rnd - 1`` (and its signed digest) into each inbox; returns bytes.

    The same in both rounds (a plaintext model has no statement), so it needs no keys.
    """
    store = host_store(cfg)
    model = store.get(round_model(cfg.run, rnd - 1))
    statement_key = round_model_statement(cfg.run, rnd - 1)
    statement = store.get(statement_key) if cfg.secagg.secure else None
    for name in accounts:
        view = host_view(cfg, name)
        view.put(global_model_in(cfg.run, rnd), model)
        if statement is not None:
            view.put(global_model_statement_in(cfg.run, rnd), statement)
    return (len(model) + len(statement or b"")) * len(accounts)


def received_digest(party: Party, rnd: int, *, host: str) -> str:
    """The digest of the model broadcast for round ``rnd``, checked against the host's signature."""
    blob = party.store.get(global_model_in(party.run, rnd))
    signed_digest = json.loads(party.verify(party.store.get(global_model_statement_in(party.run, rnd)), MODEL, host, rnd=rnd - 1))
    digest = hashlib.sha256(blob).hexdigest()
    if signed_digest.get("sha256") != digest:
        raise IntegrityError(f"round {rnd}: the global model in {party.name}'s inbox is not the one the host signed")
    return digest


def received_model(party: Party, rnd: int, *, host: str, digest: str) -> np.ndarray:
    """The global model broadcast for round ``rnd``, opened, if it is the one with ``digest``."""
    blob = party.store.get(global_model_in(party.run, rnd))
    if hashlib.sha256(blob).hexdigest() != digest:
        raise IntegrityError(f"round {rnd}: the global model in {party.name}'s inbox changed after it was advertised")
    return open_model(party, blob, rnd=rnd - 1, host=host)
