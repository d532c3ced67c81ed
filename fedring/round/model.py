"""The global model of a round: sealed and signed by the host, broadcast, opened by the participants.

In the secure round the model of round r is sealed to the policy
``host:self or <every participant>:self``, bound to (run, r, commit, host ->
participants), and the host signs its digest (SHA-256 of the sealed bytes). Each client
checks that signature before it trains, and puts the digest in its signed advertisement,
so a host that sends different models to different clients is caught before anyone
masks (Pasquini et al., CCS 2022, describe what such a host gains). The same holds for
the federated evaluation of round r: every account evaluates round r's new model, whose
digest the host signs before commit. Inside the envelope (and as is, in the plaintext
baseline) a model is the workload's state in its compact form (``fedring.ml.state``).
"""

from __future__ import annotations

import hashlib
import json

from fedring.config import FederationConfig
from fedring.errors import IntegrityError
from fedring.keys import identity_attribute
from fedring.keys.signed import canonical
from fedring.layout import (
    Stage,
    aggregate_model,
    global_model_in,
    global_model_statement_in,
    round_label,
    round_model,
    round_model_statement,
)
from fedring.round.party import Party
from fedring.round.plan import RoundPlan
from fedring.round.wire import PARTICIPANTS
from fedring.storage import host_store, host_view

MODEL = "model"  # the kind of the host's statement over a global model's digest


def participants_policy(names: list[str]) -> str:
    """The policy a round's global model is sealed to: any participant or the host."""
    return " or ".join(identity_attribute(n) for n in names)


def seal_model(host: Party, state: bytes, *, rnd: int, participants: list[str]) -> bytes:
    """The global model of round ``rnd`` (its encoded state), sealed so that the host or any participant opens it."""
    policy = participants_policy([host.name, *participants])
    return host.seal_to(PARTICIPANTS, state, rnd=rnd, stage=Stage.COMMIT, policy=policy)


def model_statement(host: Party, blob: bytes, *, rnd: int) -> bytes:
    """The host's signed digest of round ``rnd``'s sealed global model."""
    return host.sign(MODEL, canonical({"sha256": hashlib.sha256(blob).hexdigest()}), rnd=rnd)


def open_model(party: Party, blob: bytes, *, rnd: int, host: str) -> bytes:
    """The global model of round ``rnd`` (its encoded state) as a participant (or the host) opens it."""
    return party.open_from(host, blob, rnd=rnd, stage=Stage.COMMIT, recipient=PARTICIPANTS)


def broadcast(cfg: FederationConfig, rnd: int, accounts: list[str], *, purpose: str = "", host: Party | None = None) -> int:
    """Copy the model a sum starts from (and the host's signed digest) into each inbox; returns bytes.

    Training round r starts from the committed model of round r - 1 (the same in both
    rounds: a plaintext model has no statement, so no keys are needed). The federated
    evaluation of round r (``purpose="eval"``) is over round r's new model, not committed
    yet: ``host`` signs its digest now, the same statement the commit writes (Ed25519
    signatures are deterministic).
    """
    store = host_store(cfg)
    label = round_label(rnd, purpose)
    if purpose == "eval":
        model = store.get(aggregate_model(cfg.run, rnd))
        statement = model_statement(host, model, rnd=rnd) if cfg.secagg.secure else None  # type: ignore[arg-type]
    else:
        model = store.get(round_model(cfg.run, rnd - 1))
        statement = store.get(round_model_statement(cfg.run, rnd - 1)) if cfg.secagg.secure else None
    for name in accounts:
        view = host_view(cfg, name)
        view.put(global_model_in(cfg.run, label), model)
        if statement is not None:
            view.put(global_model_statement_in(cfg.run, label), statement)
    return (len(model) + len(statement or b"")) * len(accounts)


def received_digest(party: Party, plan: RoundPlan, *, host: str) -> str:
    """The digest of the model broadcast for ``plan``'s sum, checked against the host's signature."""
    blob = party.store.get(global_model_in(party.run, plan.label))
    statement = party.store.get(global_model_statement_in(party.run, plan.label))
    signed_digest = json.loads(party.verify(statement, MODEL, host, rnd=plan.model_round))
    digest = hashlib.sha256(blob).hexdigest()
    if signed_digest.get("sha256") != digest:
        raise IntegrityError(f"round {plan.label}: the global model in {party.name}'s inbox is not the one the host signed")
    return digest


def received_model(party: Party, plan: RoundPlan, *, host: str, digest: str) -> bytes:
    """The model broadcast for ``plan``'s sum (its encoded state), opened, if it is the one with ``digest``."""
    blob = party.store.get(global_model_in(party.run, plan.label))
    if hashlib.sha256(blob).hexdigest() != digest:
        raise IntegrityError(f"round {plan.label}: the global model in {party.name}'s inbox changed after it was advertised")
    return open_model(party, blob, rnd=plan.model_round, host=host)
