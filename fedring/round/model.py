"""The global model of a round: sealed by the host, broadcast, opened by the participants.

In the secure round the model of round r is sealed to the policy
``host:self or <every participant>:self``, bound to (run, r, commit, host ->
participants); in the plaintext baseline it travels as raw float32 bytes.
"""

from __future__ import annotations

import numpy as np

from fedring.config import FederationConfig
from fedring.keys import identity_attribute
from fedring.layout import Stage, global_model_in, round_model
from fedring.ml.weights import from_bytes, to_bytes
from fedring.round.party import Party
from fedring.round.wire import PARTICIPANTS
from fedring.storage import host_store, host_view


def participants_policy(names: list[str]) -> str:
    """The policy a round's global model is sealed to: any participant or the host."""
    return " or ".join(identity_attribute(n) for n in names)


def seal_model(host: Party, vector: np.ndarray, *, rnd: int, participants: list[str]) -> bytes:
    """The global model of round ``rnd``, sealed so that the host or any participant opens it."""
    policy = participants_policy([host.name, *participants])
    return host.seal_to(PARTICIPANTS, to_bytes(vector), rnd=rnd, stage=Stage.COMMIT, policy=policy)


def open_model(party: Party, blob: bytes, *, rnd: int, host: str) -> np.ndarray:
    """The global model of round ``rnd`` as a participant (or the host) opens it."""
    return from_bytes(party.open_from(host, blob, rnd=rnd, stage=Stage.COMMIT, recipient=PARTICIPANTS))


def broadcast(cfg: FederationConfig, rnd: int, accounts: list[str]) -> int:
    """Copy the global model of round ``rnd - 1`` into each account's inbox; returns bytes sent.

    The same in both rounds (sealed or plain bytes), so it needs no keys.
    """
    model = host_store(cfg).get(round_model(cfg.run, rnd - 1))
    for name in accounts:
        host_view(cfg, name).put(global_model_in(cfg.run, rnd), model)
    return len(model) * len(accounts)


def received_model(party: Party, rnd: int, *, host: str) -> np.ndarray:
    """The sealed global model the host broadcast to this client for round ``rnd``, opened."""
    return open_model(party, party.store.get(global_model_in(party.run, rnd)), rnd=rnd - 1, host=host)
