"""Contribute: train, quantise the update, mask it; the masked vector stays in the account.

Bonawitz et al. 2017 (https://eprint.iacr.org/2017/281), MaskedInputCollection:
Δ = w_i − w, q_i = quantise(Δ, weight p_i, clip c, f fractional bits), then
y_i = q_i + PRG(b_i) ± PRG(s_ij) over the neighbours j that advertised. y_i is kept
sealed in ``private/``; it leaves the account only inside a ring partial sum.
The public metadata (samples, loss, seconds, clipped) goes to the outbox last and
marks the stage complete.
"""

from __future__ import annotations

import json

from fedring.config import TrainingConfig
from fedring.layout import Stage, contribution_meta, masked_vector, round_secrets
from fedring.round import train
from fedring.round.advertise import round_keys
from fedring.round.model import received_model
from fedring.round.party import Host, Party
from fedring.round.plan import RoundPlan
from fedring.round.wire import u32_to_bytes
from fedring.secagg import RoundSecrets, mask, quantise


def contribute(party: Party, plan: RoundPlan, *, training: TrainingConfig, seed: int, host: str) -> dict:
    """Client: train, quantise the update, mask it with the neighbours that advertised; keep y sealed."""
    rnd, me = plan.rnd, party.name
    meta_key = contribution_meta(plan.run, rnd)
    if party.store.exists(meta_key):
        return {**json.loads(party.store.get(meta_key)), "reused": True}
    global_vector = received_model(party, rnd, host=host)
    trained, result = train.train_on_partition(party.store, global_vector, training=training, seed=seed, rnd=rnd)
    q, clipped = quantise(trained - global_vector, weight=plan.weight(me), clip=plan.clip, frac_bits=plan.frac_bits)
    del trained
    public = round_keys(party, plan)
    secrets = RoundSecrets.from_bytes(party.recall(round_secrets(plan.run, rnd), rnd=rnd, stage=Stage.ADVERTISE))
    peers = (plan.graph[me] & public.keys()) - {me}
    y = mask(q, me=me, secrets=secrets, peers_public=public, neighbours=peers, run=plan.run, rnd=rnd, inplace=True)
    party.keep(masked_vector(plan.run, rnd), u32_to_bytes(y), rnd=rnd, stage=Stage.CONTRIBUTE)
    meta = {"samples": result.samples, "loss": result.loss, "train_seconds": result.seconds, "clipped": clipped}
    party.store.put(meta_key, json.dumps(meta).encode())
    return {**meta, "reused": False}


def published_meta(host: Host, plan: RoundPlan, account: str) -> dict:
    """Host: the public metadata an account published with its contribution."""
    return json.loads(host.view(account, rnd=plan.rnd).get(contribution_meta(plan.run, plan.rnd)))
