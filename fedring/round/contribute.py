"""Contribute: compute this account's vector, mask it; the masked vector stays in the account.

Bonawitz et al. 2017 (https://eprint.iacr.org/2017/281), MaskedInputCollection:
y_i = q_i + PRG(b_i) ± PRG(s_ij) over the neighbours j whose shares this account holds.
What q_i is depends on the sum's purpose (``RoundPlan.purpose``):

- training (``train.training_vector``): the quantised update Δ = w_i − w, then an exact
  integer section (``fedring.secagg.exact``): integer-buffer increments, training sums,
  clipped coordinates;
- evaluation (``evaluate.evaluation_vector``): the exact sums of the round's new model on
  this account's eval split;
- statistics (``statistics.statistics_vector``): the exact sums of its data.

The host learns only the totals over the survivors, never one account's. y_i is kept
sealed in ``private/`` with the public metadata (samples, seconds); it leaves the account
only inside a ring partial sum. The vector is computed once: a retry or a rerun after a
crash finds the kept contribution and continues with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np

from fedring.config import FederationConfig
from fedring.errors import StageRefused
from fedring.keys.signed import canonical
from fedring.layout import Stage, contribution_meta, masked_vector
from fedring.round import evaluate, statistics, train
from fedring.round.advertise import View, accept_view, round_secrets_of
from fedring.round.party import Host, Party
from fedring.round.plan import RoundPlan
from fedring.round.share_keys import accept_shares
from fedring.round.wire import decode_record, encode_record
from fedring.secagg import mask

Vector = Callable[[Party, View], tuple[dict, np.ndarray]]  # -> (public metadata, the uint32 vector to mask)


def vector_for(cfg: FederationConfig, plan: RoundPlan, *, host: str) -> Vector:
    """What this account adds to ``plan``'s sum, by purpose, from its own federation file ``cfg``."""
    make = {"": train.training_vector, "eval": evaluate.evaluation_vector, "stats": statistics.statistics_vector}
    return lambda party, view: make[plan.purpose](party, view, cfg=cfg, host=host)


def contribute(party: Party, plan: RoundPlan, *, host: str, vector: Vector) -> dict:
    """Client: compute this account's vector, mask it with its neighbours that shared; keep y."""
    rnd = plan.label
    key = masked_vector(plan.run, rnd)
    view = accept_view(party, plan, host=host)
    reused = party.store.exists(key)
    if reused:
        meta, _ = decode_record(party.recall(key, rnd=rnd, stage=Stage.CONTRIBUTE))
    else:
        meta, y = _masked(party, view, vector)
        meta, _ = decode_record(party.keep(key, encode_record(meta, y), rnd=rnd, stage=Stage.CONTRIBUTE))
    party.store.put(contribution_meta(plan.run, rnd), canonical(meta))  # the same bytes on every attempt
    return {**meta, "reused": reused}


def _masked(party: Party, view: View, vector: Vector) -> tuple[dict, np.ndarray]:
    plan, me = view.plan, party.name
    peers = (plan.graph[me] & accept_shares(party, view).keys()) - {me}
    if len(peers) + 1 < plan.threshold:
        raise StageRefused(
            f"round {plan.label}: only {len(peers)} of {me}'s neighbours shared their secrets; with fewer than "
            f"{plan.threshold - 1} it does not mask"
        )
    meta, q = vector(party, view)
    y = mask(q, me=me, secrets=round_secrets_of(party, plan), peers_public=view.public_keys, neighbours=peers,
             run=plan.run, rnd=plan.label, inplace=True)
    return meta, y


def published_meta(host: Host, plan: RoundPlan, account: str) -> dict:
    """Host: the public metadata an account published with its contribution."""
    return json.loads(host.view(account, rnd=plan.label).get(contribution_meta(plan.run, plan.label)))
