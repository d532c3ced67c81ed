"""Contribute: train, quantise the update, mask it; the masked vector stays in the account.

Bonawitz et al. 2017 (https://eprint.iacr.org/2017/281), MaskedInputCollection:
Δ = w_i − w, q_i = quantise(Δ, weight p_i, clip c, f fractional bits), then
y_i = q_i + PRG(b_i) ± PRG(s_ij) over the neighbours j whose shares this account holds.

The masked vector carries, after the model's coordinates, an exact integer section
(``fedring.secagg.exact``): the account's training loss sum (fixed point) and its
number of clipped coordinates. The host learns only their totals over the survivors,
never one account's loss.

y_i is kept sealed in ``private/`` with the public metadata (samples, seconds); it leaves
the account only inside a ring partial sum. Training happens once: a retry or a rerun
after a crash finds the kept contribution and continues with it.
"""

from __future__ import annotations

import json

import numpy as np

from fedring.config import TrainingConfig
from fedring.errors import StageRefused
from fedring.keys.signed import canonical
from fedring.layout import Stage, contribution_meta, masked_vector
from fedring.round import train
from fedring.round.advertise import View, accept_view, round_secrets_of
from fedring.round.model import received_model
from fedring.round.party import Host, Party
from fedring.round.plan import RoundPlan
from fedring.round.share_keys import accept_shares
from fedring.round.wire import decode_record, encode_record
from fedring.secagg import exact, mask, quantise

LOSS_SCALE = 2**16  # fixed point of the loss sum in the exact section (resolution 1.5e-5)
STATS = ("loss_sum", "clipped")  # the exact section of a masked vector, in order


def stats_section(loss: float, samples: int, clipped: int) -> np.ndarray:
    """The exact integer section an account adds after its model coordinates."""
    return exact.to_words(np.array([round(loss * samples * LOSS_SCALE), clipped], dtype=np.int64), "training statistics")


def read_stats(total: np.ndarray, accounts: int) -> dict[str, float]:
    """The survivors' training statistics from the summed exact section."""
    loss_sum, clipped = exact.from_words(total, accounts).tolist()
    return {"loss_sum": loss_sum / LOSS_SCALE, "clipped": int(clipped)}


def section_words() -> int:
    return len(STATS) * exact.LIMBS


def contribute(party: Party, plan: RoundPlan, *, training: TrainingConfig, seed: int, host: str) -> dict:
    """Client: train, quantise and mask this account's update with its neighbours that shared; keep y."""
    rnd = plan.rnd
    key = masked_vector(plan.run, rnd)
    view = accept_view(party, plan, host=host)
    reused = party.store.exists(key)
    if reused:
        meta, _ = decode_record(party.recall(key, rnd=rnd, stage=Stage.CONTRIBUTE))
    else:
        meta, y = _masked_update(party, view, training=training, seed=seed, host=host)
        meta, _ = decode_record(party.keep(key, encode_record(meta, y), rnd=rnd, stage=Stage.CONTRIBUTE))
    party.store.put(contribution_meta(plan.run, rnd), canonical(meta))  # the same bytes on every attempt
    return {**meta, "reused": reused}


def _masked_update(party: Party, view: View, *, training: TrainingConfig, seed: int, host: str) -> tuple[dict, np.ndarray]:
    plan, me = view.plan, party.name
    peers = (plan.graph[me] & accept_shares(party, view).keys()) - {me}
    if len(peers) + 1 < plan.threshold:
        raise StageRefused(
            f"round {plan.rnd}: only {len(peers)} of {me}'s neighbours shared their secrets; with fewer than "
            f"{plan.threshold - 1} it does not mask"
        )
    start = received_model(party, plan.rnd, host=host, digest=view.model)
    trained, result = train.train_on_partition(party.store, start, training=training, seed=seed, rnd=plan.rnd)
    q, clipped = quantise(trained - start, weight=plan.weight(me), clip=plan.clip, frac_bits=plan.frac_bits)
    del trained
    q = np.concatenate([q, stats_section(result.loss, result.samples, clipped)])
    y = mask(q, me=me, secrets=round_secrets_of(party, plan), peers_public=view.public_keys, neighbours=peers,
             run=plan.run, rnd=plan.rnd, inplace=True)
    return {"samples": result.samples, "train_seconds": round(result.seconds, 3)}, y


def published_meta(host: Host, plan: RoundPlan, account: str) -> dict:
    """Host: the public metadata an account published with its contribution."""
    return json.loads(host.view(account, rnd=plan.rnd).get(contribution_meta(plan.run, plan.rnd)))
