"""Unmasking at the host: from the ring sums to sum_{survivors} q_i, exactly.

Bonawitz et al. 2017 (https://eprint.iacr.org/2017/281, section 4, "Unmasking"),
with the neighbour graph of Bell et al. 2020. The ring sums add up to

    sum_{i in S} q_i + sum_{i in S} PRG(b_i) + sum_{i in S, j in D, j ~ i} sign(i, j) PRG(s_ij)

(S survivors, D dropped: accounts whose shares went out but whose y is not in
the sum; pairwise masks between two survivors cancel). The host reconstructs
b_i for i in S and a_j for j in D from at least t revealed shares, removes
PRG(b_i), and recomputes s_ij = pair_seed(a_j, A_i) to remove the masks between
survivors and dropped accounts. Memory: one accumulator of d words plus a
keystream chunk (see ``prg.add_keystream``); the ring sums are summed into the
first one, which is overwritten.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from fedring.errors import ConfigError, IntegrityError, NotEnoughShares, TooFewSurvivors
from fedring.secagg.keys import RoundSecrets, pair_seed, public_key_bytes, self_commitment
from fedring.secagg.masking import pair_sign
from fedring.secagg.prg import add_keystream
from fedring.secagg.shamir import KEY, SELF, reconstruct

__all__ = ["unmask", "missing_shares"]


def missing_shares(
    revealed: Mapping[str, Mapping[str, bytes]],
    *,
    owners: Iterable[str],
    neighbours: Mapping[str, frozenset[str]],
    threshold: int,
) -> dict[str, list[str]]:
    """owner -> holders that revealed nothing for it, for each owner with fewer than t shares."""
    short = {}
    for owner in sorted(owners):
        holders = sorted(neighbours[owner] | {owner})
        got = [h for h in holders if owner in revealed.get(h, {})]
        if len(got) < threshold:
            short[owner] = [h for h in holders if h not in got]
    return short


def unmask(
    ring_sums: Sequence[np.ndarray],
    *,
    revealed: Mapping[str, Mapping[str, bytes]],
    roster: Sequence[str],
    survivors: Iterable[str],
    dropped: Iterable[str],
    public_keys: Mapping[str, bytes],
    neighbours: Mapping[str, frozenset[str]],
    threshold: int,
    run: str,
    rnd: int | str,
    commitments: Mapping[str, bytes] | None = None,
) -> np.ndarray:
    """Return sum_{survivors} q_i (uint32) from the ring sums and the revealed shares.

    ``revealed`` maps revealer -> owner -> RevealedShare blob (each survivor's output
    of ``reveal``). ``neighbours`` is the public graph of the round; holders of an
    owner's shares are its neighbours and itself. ``commitments`` (survivor -> its
    advertised ``self_commitment``) are checked against each rebuilt self-mask seed.
    The first ring sum is overwritten.
    """
    surv, drop = set(survivors), set(dropped)
    if surv & drop:
        raise ConfigError(f"survivors and dropped overlap: {', '.join(sorted(surv & drop))}")
    unknown = sorted((surv | drop) - set(roster))
    if unknown:
        raise ConfigError(f"not in the roster: {', '.join(unknown)}")
    if len(surv) < threshold:
        raise TooFewSurvivors(f"{len(surv)} survivors, threshold {threshold}: the round cannot be unmasked")
    if not ring_sums:
        raise ConfigError("ring_sums must hold at least one ring sum")
    short = missing_shares(revealed, owners=surv | drop, neighbours=neighbours, threshold=threshold)
    if short:
        detail = "; ".join(f"{o} (no share from {', '.join(m)})" for o, m in short.items())
        raise NotEnoughShares(f"fewer than {threshold} shares for {len(short)} account(s): {detail}")

    total = ring_sums[0]
    if total.dtype != np.uint32 or total.ndim != 1 or not total.flags.c_contiguous:
        raise ConfigError("ring sums must be contiguous 1-D uint32 arrays")
    for s in ring_sums[1:]:
        if s.shape != total.shape or s.dtype != np.uint32:
            raise ConfigError("ring sums must all have the same shape and dtype uint32")
        np.add(total, s, out=total)

    def shares_of(owner: str) -> dict[str, bytes]:
        holders = sorted(neighbours[owner] | {owner})
        return {h: revealed[h][owner] for h in holders if owner in revealed.get(h, {})}

    for i in sorted(surv):
        b = reconstruct(shares_of(i), owner=i, kind=SELF, threshold=threshold, run=run, rnd=rnd, roster=roster)
        if commitments is not None and self_commitment(b, run=run, rnd=rnd, owner=i) != commitments.get(i):
            raise IntegrityError(f"the self-mask seed rebuilt for {i} does not match its commitment: a revealed share is wrong")
        add_keystream(total, b, sign=-1)
    for j in sorted(drop):
        a = reconstruct(shares_of(j), owner=j, kind=KEY, threshold=threshold, run=run, rnd=rnd, roster=roster)
        if public_key_bytes(RoundSecrets(private_key=a, self_seed=bytes(32))) != public_keys[j]:
            raise IntegrityError(f"the key reconstructed for {j} does not match its advertised public key")
        for i in sorted(neighbours[j] & surv):
            seed = pair_seed(a, public_keys[i], run=run, rnd=rnd, a=i, b=j)
            add_keystream(total, seed, sign=-pair_sign(i, j))  # survivor i added pair_sign(i, j) * PRG
    return total
