"""Client-side stages of the secure round. Each touches only the account's own store.

Every stage is idempotent: its output key is a function of (run, round, account,
stage); when the output is already there the stage returns without recomputing, and
reports ``reused=True``. What leaves the account is sealed: shares to their holders,
the partial sum to the next hop, revealed shares to the host.
"""

from __future__ import annotations

import base64
import json

import numpy as np

from fedring.config import TrainingConfig
from fedring.errors import IntegrityError
from fedring.layout import Stage, inbox, outbox, private
from fedring.ml.weights import from_bytes
from fedring.secagg import (
    RoundSecrets,
    make_shares,
    mask,
    new_round_secrets,
    public_key_bytes,
    quantise,
    reveal as reveal_shares,
)
from fedring.secure.party import Party
from fedring.secure.plan import RoundPlan
from fedring.training import GLOBAL_MODEL, train_on_partition

PUBLIC_KEY = "public-key"
ROUND_KEYS = "keys.json"
PARTIAL = "partial"
BUNDLE = "bundle"


def _u32(data: bytes) -> np.ndarray:
    if len(data) % 4:
        raise IntegrityError("vector bytes are not a whole number of uint32 values")
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)


def encode_shares(shares: dict[str, bytes]) -> bytes:
    return json.dumps({k: base64.b64encode(v).decode() for k, v in sorted(shares.items())}).encode()


def decode_shares(data: bytes) -> dict[str, bytes]:
    try:
        return {k: base64.b64decode(v, validate=True) for k, v in json.loads(data).items()}
    except (ValueError, AttributeError, TypeError) as exc:  # JSONDecodeError and binascii.Error are ValueErrors
        raise IntegrityError(f"a share bundle is malformed: {exc}") from exc


def advertise(party: Party, plan: RoundPlan) -> dict:
    """Draw this round's secrets, keep them sealed, publish the public key and sealed shares."""
    rnd, me = plan.rnd, party.name
    done_key = outbox(plan.run, rnd, Stage.ADVERTISE, PUBLIC_KEY)
    if party.store.exists(done_key):
        return {"reused": True, "bytes_sent": 0}
    secrets = new_round_secrets()
    party.keep(private(plan.run, rnd, Stage.ADVERTISE, "secrets"), secrets.to_bytes(), rnd=rnd, stage=Stage.ADVERTISE)
    shares = make_shares(
        secrets, me=me, holders=plan.holders(me), threshold=plan.threshold, run=plan.run, rnd=rnd, roster=list(plan.roster)
    )
    party.keep(private(plan.run, rnd, Stage.SHARES, me), shares.pop(me), rnd=rnd, stage=Stage.SHARES)
    # One object for all holders (each share sealed to its holder): the host splits it.
    bundle = encode_shares({holder: party.seal_to(holder, blob, rnd=rnd, stage=Stage.SHARES) for holder, blob in shares.items()})
    party.store.put(outbox(plan.run, rnd, Stage.SHARES, BUNDLE), bundle)
    public = public_key_bytes(secrets)
    party.store.put(done_key, public)  # written last: marks the stage complete
    return {"reused": False, "bytes_sent": len(bundle) + len(public)}


def _round_keys(party: Party, plan: RoundPlan) -> dict[str, bytes]:
    raw = json.loads(party.store.get(inbox(plan.run, plan.rnd, Stage.ADVERTISE, ROUND_KEYS)))
    return {name: bytes.fromhex(key) for name, key in raw.items()}


def contribute(party: Party, plan: RoundPlan, *, training: TrainingConfig, seed: int, host: str) -> dict:
    """Train, quantise the update, mask it with the neighbours that advertised; keep y sealed."""
    rnd, me = plan.rnd, party.name
    meta_key = outbox(plan.run, rnd, Stage.CONTRIBUTE, "meta.json")
    if party.store.exists(meta_key):
        return {**json.loads(party.store.get(meta_key)), "reused": True}
    global_blob = party.store.get(inbox(plan.run, rnd, GLOBAL_MODEL, "model"))
    global_vector = from_bytes(party.open_from(host, global_blob, rnd=rnd - 1, stage=Stage.COMMIT, recipient="participants"))
    trained, result = train_on_partition(party.store, global_vector, training=training, seed=seed, rnd=rnd)
    q, clipped = quantise(trained - global_vector, weight=plan.weight(me), clip=plan.clip, frac_bits=plan.frac_bits)
    del trained
    public = _round_keys(party, plan)
    secrets = RoundSecrets.from_bytes(party.recall(private(plan.run, rnd, Stage.ADVERTISE, "secrets"), rnd=rnd, stage=Stage.ADVERTISE))
    peers = (plan.graph[me] & public.keys()) - {me}
    y = mask(q, me=me, secrets=secrets, peers_public=public, neighbours=peers, run=plan.run, rnd=rnd, inplace=True)
    party.keep(private(plan.run, rnd, Stage.CONTRIBUTE, "masked"), y.astype("<u4").tobytes(), rnd=rnd, stage=Stage.CONTRIBUTE)
    meta = {"samples": result.samples, "loss": result.loss, "train_seconds": result.seconds, "clipped": clipped}
    party.store.put(meta_key, json.dumps(meta).encode())
    return {**meta, "reused": False}


def ring_hop(party: Party, plan: RoundPlan, *, to: str, came_from: str | None) -> dict:
    """Add this account's masked vector to the partial sum it received and seal it to ``to``.

    ``came_from`` is the hop whose partial sum the host relayed here (None for the first
    live hop). Called again with another ``to`` when the next hop failed: the partial sum kept
    (sealed) in ``private/`` is re-sealed to the new recipient, never added twice.
    """
    rnd, me = plan.rnd, party.name
    out_key = outbox(plan.run, rnd, Stage.RING_HOP, f"to-{to}")
    if party.store.exists(out_key):
        return {"reused": True, "bytes_sent": 0}
    kept = private(plan.run, rnd, Stage.RING_HOP, PARTIAL)
    if party.store.exists(kept):
        partial = party.recall(kept, rnd=rnd, stage=Stage.RING_HOP)
        reused = True
    else:
        y = _u32(party.recall(private(plan.run, rnd, Stage.CONTRIBUTE, "masked"), rnd=rnd, stage=Stage.CONTRIBUTE))
        if came_from is not None:
            incoming = party.store.get(inbox(plan.run, rnd, Stage.RING_HOP, f"from-{came_from}"))
            y += _u32(party.open_from(came_from, incoming, rnd=rnd, stage=Stage.RING_HOP))  # wraps mod 2^32
        partial = y.astype("<u4").tobytes()
        party.keep(kept, partial, rnd=rnd, stage=Stage.RING_HOP)
        reused = False
    sealed = party.seal_to(to, partial, rnd=rnd, stage=Stage.RING_HOP)
    party.store.put(out_key, sealed)
    return {"reused": reused, "bytes_sent": len(sealed)}


def reveal(party: Party, plan: RoundPlan, *, survivors: list[str], dropped: list[str], host: str) -> dict:
    """Return, sealed to the host, the self-mask shares of survivors and key shares of the dropped."""
    rnd, me = plan.rnd, party.name
    out_key = outbox(plan.run, rnd, Stage.REVEAL, "shares")
    record_key = private(plan.run, rnd, Stage.REVEAL, "record")
    previous = (
        decode_shares(party.recall(record_key, rnd=rnd, stage=Stage.REVEAL)) if party.store.exists(record_key) else None
    )
    held = {}
    own = private(plan.run, rnd, Stage.SHARES, me)
    if party.store.exists(own):
        held[me] = party.recall(own, rnd=rnd, stage=Stage.SHARES)
    relayed = inbox(plan.run, rnd, Stage.SHARES, BUNDLE)
    sealed = decode_shares(party.store.get(relayed)) if party.store.exists(relayed) else {}
    for owner in sorted((plan.graph[me] - {me}) & sealed.keys()):
        held[owner] = party.open_from(owner, sealed[owner], rnd=rnd, stage=Stage.SHARES)
    shares = reveal_shares(held, me=me, survivors=survivors, dropped=dropped, run=plan.run, rnd=rnd, previous=previous)
    if previous is not None and party.store.exists(out_key):
        return {"reused": True, "bytes_sent": 0}
    payload = encode_shares(shares)
    if previous is None:
        party.keep(record_key, payload, rnd=rnd, stage=Stage.REVEAL)
    sealed = party.seal_to(host, payload, rnd=rnd, stage=Stage.REVEAL)
    party.store.put(out_key, sealed)
    return {"reused": False, "bytes_sent": len(sealed)}
