"""Masking a quantised update: y_i = q_i + PRG(b_i) + sum_{j>i} PRG(s_ij) - sum_{j<i} PRG(s_ij).

Bonawitz et al. 2017 (https://eprint.iacr.org/2017/281, section 4, "MaskedInputCollection"):
the pairwise masks of i and j enter y_i and y_j with opposite signs and cancel
in the sum; the self mask PRG(b_i) hides y_i even if a pairwise seed is later
revealed because i was wrongly taken for dropped. Pairs run over i's
neighbours only (Bell et al. 2020); the order "j > i" is by account name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from fedring.errors import ConfigError, ProtocolError
from fedring.secagg.keys import RoundSecrets, pair_seed
from fedring.secagg.prg import add_keystream

__all__ = ["mask", "pair_sign"]


def pair_sign(me: str, peer: str) -> int:
    """+1 if ``me`` adds the mask it shares with ``peer`` (peer sorts after me), else -1."""
    return 1 if peer > me else -1


def mask(
    q: np.ndarray,
    *,
    me: str,
    secrets: RoundSecrets,
    peers_public: Mapping[str, bytes],
    neighbours: Iterable[str],
    run: str,
    rnd: int | str,
    inplace: bool = False,
) -> np.ndarray:
    """Return the masked vector y (uint32) of ``me``'s quantised update ``q``.

    ``neighbours`` are the peers ``me`` masks with: its graph neighbours that took
    part in the share stage (their shares reached their holders). ``peers_public``
    maps each of them to its advertised public key. With ``inplace=True`` q itself
    is overwritten (saves one d-sized copy).
    """
    if q.dtype != np.uint32 or q.ndim != 1:
        raise ConfigError("q must be a 1-D uint32 array (see quantise)")
    peers = sorted(set(neighbours))
    if me in peers:
        raise ConfigError(f"neighbours of {me!r} must not include {me!r} itself")
    missing = [p for p in peers if p not in peers_public]
    if missing:
        raise ProtocolError(f"{me} has no advertised public key for neighbour(s) {', '.join(missing)}")
    y = q if inplace else q.copy()
    if not y.flags.c_contiguous:
        y = np.ascontiguousarray(y)
    add_keystream(y, secrets.self_seed, sign=1)
    for peer in peers:
        seed = pair_seed(secrets, peers_public[peer], run=run, rnd=rnd, a=me, b=peer)
        add_keystream(y, seed, sign=pair_sign(me, peer))
    return y
