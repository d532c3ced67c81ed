"""The whole protocol in one process: updates in, aggregate out.

Calls the per-stage functions in the order the round DAG does, for tests,
benchmarks and as the reference for the flows:

1. advertise   new_round_secrets, public_key_bytes           (each account)
               round_seed -> neighbours, RingPlan             (everyone, public)
2. share       make_shares -> one blob per holder             (each account)
3. contribute  quantise, mask (neighbours that shared)        (each account)
4. ring        add_into along each ring, bypassing failures   (hop by hop)
5. reveal      reveal(held, survivors, dropped)               (each survivor)
6. unmask      unmask(ring sums, revealed shares)             (host)
7. dequantise  dequantise, divide by the survivors' weight    (host)

To keep memory flat with many accounts, an account's quantise and mask run
just before its ring hop; this changes no value.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from fedring.errors import ConfigError
from fedring.secagg.graph import neighbours as graph_neighbours
from fedring.secagg.graph import round_seed
from fedring.secagg.keys import new_round_secrets, public_key_bytes
from fedring.secagg.masking import mask
from fedring.secagg.quantise import check_no_wrap, mean_update, quantise
from fedring.secagg.ring import RingPlan, add_into
from fedring.secagg.shamir import make_shares, reveal
from fedring.secagg.unmask import unmask

__all__ = ["simulate", "SimulationResult", "envelope_bytes"]

# Allowance for the sealing envelope (written elsewhere), per sealed object.
ENVELOPE_HEADER = 100
ENVELOPE_TAG_PER_MIB = 16
ENVELOPE_WRAPPED_KEY = 120


def envelope_bytes(payload: int, recipients: int = 1) -> int:
    """Bytes on the wire for ``payload`` bytes sealed to ``recipients`` recipients."""
    tags = ENVELOPE_TAG_PER_MIB * max(1, math.ceil(payload / 2**20))
    return payload + ENVELOPE_HEADER + tags + ENVELOPE_WRAPPED_KEY * recipients


@dataclass
class SimulationResult:
    mean: np.ndarray  # float32 weighted mean of the survivors' clipped updates
    quantised_sum: np.ndarray  # uint32, exactly sum_{survivors} q_i
    survivors: list[str]
    dropped: list[str]  # shared secrets but y not in the sum
    absent: list[str]  # never shared: left out of everyone's masks
    survivor_weight: float  # sum of the survivors' normalised weights
    bytes_sent: dict[str, int]  # per account, all stages, with envelope allowance
    clipped: dict[str, int]
    timings: dict[str, float]  # seconds per stage, summed over accounts
    mask_seconds: list[float] = field(default_factory=list)  # per masking account


def simulate(
    updates: Mapping[str, np.ndarray] | Callable[[str], np.ndarray],
    *,
    weights: Mapping[str, float],
    threshold: int,
    clip: float,
    frac_bits: int,
    roster: Sequence[str] | None = None,
    dropped_before_share: set[str] = frozenset(),
    dropped_before_mask: set[str] = frozenset(),
    dropped_in_ring: set[str] = frozenset(),
    rings: int = 1,
    degree: int | None = None,
    run: str = "sim",
    rnd: int = 1,
    seed: bytes | None = None,
    observe: Callable[[str, str, np.ndarray], None] | None = None,
) -> SimulationResult:
    """Run one round of secure aggregation over a ring and return the aggregate.

    Notes
    -----
    updates: a mapping name -> float32 vector, or a callable name -> vector with
        ``roster`` given (so that 1,000 updates need not be in memory at once).
    weights: public sample counts (or any non-negative weights); normalised over the
        roster to p_i = n_i / sum n before quantising.
    threshold: t of the t-of-(holders) Shamir sharing; holders are each account's
        neighbours and itself. Larger t resists more collusion, smaller t more dropouts.
    dropped_before_share: fail before their shares go out; nobody masks with them.
    dropped_before_mask: shared, then failed before their y was sent.
    dropped_in_ring: shared and masked, then their ring hop failed and was bypassed.
    rings, degree: parallel rings; neighbour-graph degree (None: complete graph).
    seed: public per-round seed of the graph and ring order (None: ``round_seed`` of
        run, round and the advertised public keys, as the DAG should do).
    observe: called as observe(stage, account, vector) with each y ("mask") and each
        partial sum ("ring"), for tests; the vector must not be kept or modified.
    """
    names = sorted(roster if roster is not None else updates)  # type: ignore[arg-type]
    get = updates if callable(updates) else updates.__getitem__
    total_w = float(sum(weights[n] for n in names))
    if not total_w > 0 or any(weights[n] < 0 for n in names):
        raise ConfigError("weights must be non-negative with a positive sum over the roster")
    check_no_wrap(len(names), clip, frac_bits)
    timings = dict.fromkeys(["advertise", "share", "quantise", "mask", "ring", "reveal", "unmask", "dequantise"], 0.0)
    sent = dict.fromkeys(names, 0)

    t0 = time.perf_counter()
    round_secrets = {n: new_round_secrets() for n in names}
    public = {n: public_key_bytes(round_secrets[n]) for n in names}
    for n in names:
        sent[n] += envelope_bytes(len(public[n]), 0)
    seed = seed if seed is not None else round_seed(run, rnd, public)
    graph = graph_neighbours(names, degree=degree, seed=seed)
    plan = RingPlan.from_roster(names, rings=rings, seed=seed)
    timings["advertise"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    shared = [n for n in names if n not in dropped_before_share]
    inbox: dict[str, dict[str, bytes]] = {n: {} for n in names}
    for n in shared:
        blobs = make_shares(
            round_secrets[n], me=n, holders=sorted(graph[n] | {n}), threshold=threshold, run=run, rnd=rnd, roster=names
        )
        for holder, blob in blobs.items():
            inbox[holder][n] = blob
            if holder != n:
                sent[n] += envelope_bytes(len(blob))
    timings["share"] = time.perf_counter() - t0

    shared_set = set(shared)
    contributors = shared_set - set(dropped_before_mask)
    dropped = sorted(shared_set - contributors | (set(dropped_in_ring) & contributors))
    survivors = sorted(contributors - set(dropped_in_ring))
    clipped: dict[str, int] = {}
    mask_seconds: list[float] = []
    ring_sums: list[np.ndarray] = []
    for r in range(len(plan.rings)):
        partial = None
        gone = set(names) - contributors  # known before the ring starts: never sent y
        hop = plan.next_hop(r, None, gone)
        while hop is not None:
            t0 = time.perf_counter()
            weight = weights[hop] / total_w
            q, clipped[hop] = quantise(np.asarray(get(hop)), weight=weight, clip=clip, frac_bits=frac_bits)
            t1 = time.perf_counter()
            peers = graph[hop] & shared_set
            y = mask(
                q, me=hop, secrets=round_secrets[hop], peers_public=public, neighbours=peers, run=run, rnd=rnd, inplace=True
            )
            t2 = time.perf_counter()
            timings["quantise"] += t1 - t0
            timings["mask"] += t2 - t1
            mask_seconds.append(t2 - t1)
            if observe:
                observe("mask", hop, y)
            if hop in dropped_in_ring:
                gone.add(hop)  # the hop failed: previous_hop re-seals its partial to next_hop
            else:
                partial = add_into(partial, y)
                sent[hop] += envelope_bytes(y.nbytes)
                if observe:
                    observe("ring", hop, partial)
            timings["ring"] += time.perf_counter() - t2
            hop = plan.next_hop(r, hop, gone)
        if partial is not None:
            ring_sums.append(partial)
    del round_secrets  # the host never sees these; only revealed shares below

    t0 = time.perf_counter()
    revealed = {}
    for n in survivors:
        revealed[n] = reveal(inbox[n], me=n, survivors=survivors, dropped=dropped, run=run, rnd=rnd)
        sent[n] += envelope_bytes(sum(len(v) for v in revealed[n].values()))
    timings["reveal"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    total = unmask(
        ring_sums,
        revealed=revealed,
        roster=names,
        survivors=survivors,
        dropped=dropped,
        public_keys=public,
        neighbours=graph,
        threshold=threshold,
        run=run,
        rnd=rnd,
    )
    timings["unmask"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    surv_w = sum(weights[n] for n in survivors) / total_w
    mean = mean_update(total, frac_bits=frac_bits, weight=surv_w)
    timings["dequantise"] = time.perf_counter() - t0
    absent = sorted(set(names) - shared_set)
    return SimulationResult(mean, total, survivors, dropped, absent, surv_w, sent, clipped, timings, mask_seconds)
