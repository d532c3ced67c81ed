"""Secure aggregation over a ring of accounts: the host learns only the weighted sum.

Bonawitz et al. 2017, "Practical Secure Aggregation for Privacy-Preserving
Machine Learning" (https://eprint.iacr.org/2017/281), with the k-regular
neighbour graph of Bell et al. 2020, "Secure Single-Server Aggregation with
(Poly)Logarithmic Overhead" (SecAgg+, https://eprint.iacr.org/2020/704); the
masked vectors travel as one running sum along a ring instead of each going
to the host. Pure library: no I/O, no Prefect. See docs/secagg.md.

Stages of one round, in order (who runs it: function):

1. advertise   (each account) ``new_round_secrets``, ``public_key_bytes``; store the
               RoundSecrets sealed to itself, publish the public key.
2. share       (each account) ``make_shares`` for its holders (graph ``neighbours`` and
               itself); seal each blob to its holder. The host records who shared.
3. mask        (each account) ``quantise`` then ``mask`` with the neighbours that shared.
4. ring        (hop by hop) ``add_into``; the host routes with ``RingPlan`` and
               bypasses failed hops; it receives one sum per ring.
5. reveal      (each survivor) ``reveal``: b-shares of survivors, a-shares of dropped.
6. unmask      (host) ``unmask`` -> the exact sum of the survivors' q_i.
7. dequantise  (host) ``dequantise``, then divide by the survivors' total weight.

``simulate`` runs all stages in one process, in this order.
"""

from fedring.secagg.graph import neighbours, ring_order, round_seed, seeded_permutation
from fedring.secagg.keys import RoundSecrets, new_round_secrets, pair_seed, public_key_bytes, self_commitment
from fedring.secagg.masking import mask, pair_sign
from fedring.secagg.prg import add_keystream, keystream_u32
from fedring.secagg.quantise import check_aggregate, check_no_wrap, dequantise, error_bound, mean_update, quantise
from fedring.secagg.ring import Hop, Relay, Reseal, RingPlan, add_into, ring_route
from fedring.secagg.shamir import (
    RevealedShare,
    ShareBundle,
    check_threshold,
    make_shares,
    reconstruct,
    reveal,
    share_index,
)
from fedring.secagg.simulate import SimulationResult, envelope_bytes, simulate
from fedring.secagg.unmask import missing_shares, unmask

__all__ = [
    "Hop",
    "Relay",
    "Reseal",
    "RevealedShare",
    "RingPlan",
    "RoundSecrets",
    "ShareBundle",
    "SimulationResult",
    "add_into",
    "add_keystream",
    "check_aggregate",
    "check_no_wrap",
    "check_threshold",
    "dequantise",
    "envelope_bytes",
    "error_bound",
    "keystream_u32",
    "make_shares",
    "mask",
    "mean_update",
    "missing_shares",
    "neighbours",
    "new_round_secrets",
    "pair_seed",
    "pair_sign",
    "public_key_bytes",
    "quantise",
    "reconstruct",
    "reveal",
    "ring_order",
    "ring_route",
    "round_seed",
    "seeded_permutation",
    "self_commitment",
    "share_index",
    "simulate",
    "unmask",
]
