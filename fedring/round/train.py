"""The train step: an account trains the global model on its own data, through the federation's workload.

``training_vector`` is what an account adds to a training round's secure sum:

    q   = quantise(w_i.floats - w.floats, weight p_i, clip c, f fractional bits)   (float section)
    e   = [ w_i.ints - w.ints | examples, correct, loss_sum | clipped | evaluation of w ]   (exact section)

the exact section as int64 values, each four 16-bit limbs (``fedring.secagg.exact``):
integer buffers (batch norm's ``num_batches_tracked``) advance by the rounded mean
increment, never averaged as floats (``fedring.ml.state``); the training sums are those of
the last local epoch (``fedring.workloads.sums``: counts exact, the loss in 2^-20 steps).
From round 2 on, when the federation evaluates federated, the section ends with the
evaluation sums of w, the model the round starts from (the previous round's), on this
account's eval split (``fedring.round.evaluate.carries_evaluation``): one secure sum a
round instead of two. The host learns only their totals over the survivors (``read_section``).

The training seed is a function of (seed, account, round), so a rerun trains the same way.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from fedring.config import FederationConfig
from fedring.errors import IntegrityError, StateMismatch
from fedring.ml.state import ModelState, StateLayout, int_increment
from fedring.secagg import exact, quantise
from fedring.workloads import sums
from fedring.workloads.base import Sums
from fedring.workloads.federation import FederationWorkload, federation_workload
from fedring.workloads.local import LocalUpdate, train_local


def round_seed(seed: int, account: str, rnd: int) -> int:
    """A per-(account, round) training seed, stable across processes and reruns."""
    digest = hashlib.sha256(f"{seed}/{account}/{rnd}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def decode_model(fw: FederationWorkload, state: bytes, *, account: str) -> ModelState:
    """A global model's bytes as this account's own workload reads them; a different model is refused."""
    try:
        return fw.layout.decode(state)
    except StateMismatch as exc:
        raise StateMismatch(
            f"account {account!r}: workload {fw.name!r} in its own federation file builds another model than the "
            f"federation's: {exc}"
        ) from None


def section(start: ModelState, update: LocalUpdate, clipped: int, evaluation: np.ndarray | None = None) -> np.ndarray:
    """The exact section (int64) an account adds after its quantised floats (``evaluation``: of ``start``)."""
    tail = np.array([clipped], dtype=np.int64)
    carried = [] if evaluation is None else [evaluation]
    return np.concatenate([int_increment(start.ints, update.state.ints), sums.encode(update.sums, {}), tail, *carried])


def section_size(layout: StateLayout, evaluation: int = 0) -> int:
    """Values in the exact section of a training round's vector (``evaluation``: values of a carried evaluation)."""
    return layout.int_size + len(sums.fields({})) + 1 + evaluation


@dataclass(frozen=True)
class TrainingTotals:
    """The survivors' totals from the exact section: integer increments, training sums, clipped count,
    and the evaluation sums of the round's starting model when the round carries them."""

    increments: np.ndarray
    sums: Sums
    clipped: int
    evaluation: np.ndarray | None = None


def read_section(totals: np.ndarray, layout: StateLayout, evaluation: int = 0) -> TrainingTotals:
    """Split the exact section's int64 totals (``exact.from_words`` of the summed words)."""
    size = section_size(layout, evaluation)
    if totals.shape != (size,):
        raise IntegrityError(f"the exact section holds {totals.size} values, {size} expected")
    i, clipped_at = layout.int_size, size - evaluation - 1
    return TrainingTotals(totals[:i], sums.decode(totals[i:clipped_at], {}), int(totals[clipped_at]),
                          totals[clipped_at + 1:] if evaluation else None)


def training_vector(party, view, *, cfg: FederationConfig, host: str) -> tuple[dict, np.ndarray]:
    """Client: train the global model on this account's data; the quantised update and its exact section."""
    from fedring.round.evaluate import carries_evaluation, evaluation_sums
    from fedring.round.model import received_model

    plan, me = view.plan, party.name
    fw = federation_workload(cfg)
    start = decode_model(fw, received_model(party, plan, host=host, digest=view.model), account=me)
    data = fw.workload.load_data(party.store, fw.prefix)
    # Not timed in the public metadata: an evaluation's time would hint at the size of the eval split.
    evaluation = evaluation_sums(fw, party.store, start, data=data) if carries_evaluation(cfg, plan.rnd) else None
    update = train_local(fw.workload, party.store, start, layout=fw.layout, training=cfg.training, seed=cfg.seed,
                         rnd=plan.rnd, prefix=fw.prefix, data=data)
    q, clipped = quantise(update.state.floats - start.floats, weight=plan.weight(me), clip=plan.clip,
                          frac_bits=plan.frac_bits)
    words = exact.to_words(section(start, update, clipped, evaluation), f"account {me!r}: training section")
    meta = {"samples": update.samples, "train_seconds": round(update.seconds, 3)}
    return meta, np.concatenate([q, words])
