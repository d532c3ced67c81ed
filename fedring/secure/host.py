"""Host-side stages of the secure round: relay, route the ring, unmask, seal the model.

The host reads client outboxes and writes client inboxes (nothing else); everything it
relays is sealed to someone else. What it opens is sealed to it: the ring sums and
the revealed shares, from which it learns the survivors' weighted sum and no more.
"""

from __future__ import annotations

import json

import numpy as np

from fedring.config import FederationConfig
from fedring.keys import PublicDirectory
from fedring.layout import Stage, host_stage, inbox, outbox, round_model
from fedring.ml.weights import from_bytes, to_bytes
from fedring.secagg import dequantise, unmask
from fedring.secure.client import BUNDLE, PUBLIC_KEY, ROUND_KEYS, _u32, decode_shares, encode_shares
from fedring.secure.party import Party, directory_key, ensure_keys, latest_public_keys, participants_policy
from fedring.secure.plan import RoundPlan
from fedring.storage import host_store, host_view

PARTICIPANTS = "participants"


def publish_directory(cfg: FederationConfig) -> Party:
    """Gather every account's public keys, give each client the directory, return the host's party."""
    host = host_party(cfg)
    docs = [latest_public_keys(host.store)] + [latest_public_keys(host_view(cfg, a.name)) for a in cfg.accounts]
    payload = json.dumps(docs, sort_keys=True).encode()
    for acct in cfg.accounts:
        host_view(cfg, acct.name).put(directory_key(cfg.run), payload)
    return host


def seal_model(host: Party, vector: np.ndarray, *, rnd: int, participants: list[str]) -> bytes:
    """The global model of round ``rnd``, sealed so that the host or any participant opens it."""
    policy = participants_policy([host.name, *participants])
    return host.seal_to(PARTICIPANTS, to_bytes(vector), rnd=rnd, stage=Stage.COMMIT, policy=policy)


def open_model(party: Party, blob: bytes, *, rnd: int, host: str) -> np.ndarray:
    return from_bytes(party.open_from(host, blob, rnd=rnd, stage=Stage.COMMIT, recipient=PARTICIPANTS))


def relay_advertisements(cfg: FederationConfig, plan: RoundPlan, advertised: list[str]) -> int:
    """Give every advertiser the round's public keys and the shares sealed to it; returns bytes."""
    views = {a: host_view(cfg, a, rnd=plan.rnd) for a in advertised}
    keys = {a: views[a].get(outbox(plan.run, plan.rnd, Stage.ADVERTISE, PUBLIC_KEY)).hex() for a in advertised}
    payload = json.dumps(keys, sort_keys=True).encode()
    moved = 0
    for a in advertised:
        views[a].put(inbox(plan.run, plan.rnd, Stage.ADVERTISE, ROUND_KEYS), payload)
        moved += len(payload)
    held: dict[str, dict[str, bytes]] = {a: {} for a in advertised}  # holder -> owner -> sealed share
    for owner in advertised:
        for holder, blob in decode_shares(views[owner].get(outbox(plan.run, plan.rnd, Stage.SHARES, BUNDLE))).items():
            if holder in held and holder in plan.graph[owner]:
                held[holder][owner] = blob
    for holder, shares in held.items():
        bundle = encode_shares(shares)
        views[holder].put(inbox(plan.run, plan.rnd, Stage.SHARES, BUNDLE), bundle)
        moved += len(bundle)
    return moved


def relay_partial(cfg: FederationConfig, plan: RoundPlan, *, sender: str, recipient: str) -> int:
    """Move ``sender``'s sealed partial sum to ``recipient``'s inbox (or the host's bucket)."""
    blob = host_view(cfg, sender, rnd=plan.rnd).get(outbox(plan.run, plan.rnd, Stage.RING_HOP, f"to-{recipient}"))
    if recipient == cfg.host.name:
        host_store(cfg).put(host_stage(plan.run, plan.rnd, Stage.RING_HOP, f"from-{sender}"), blob)
    else:
        host_view(cfg, recipient, rnd=plan.rnd).put(inbox(plan.run, plan.rnd, Stage.RING_HOP, f"from-{sender}"), blob)
    return len(blob)


def unmask_update(
    cfg: FederationConfig,
    host: Party,
    plan: RoundPlan,
    *,
    last_hops: list[str],
    survivors: list[str],
    dropped: list[str],
    advertised: list[str],
) -> np.ndarray:
    """Open the ring sums and revealed shares, unmask, and return the survivors' mean update."""
    rnd = plan.rnd
    sums = [
        _u32(host.open_from(s, host.store.get(host_stage(plan.run, rnd, Stage.RING_HOP, f"from-{s}")), rnd=rnd, stage=Stage.RING_HOP))
        for s in last_hops
    ]
    revealed = {}
    for s in survivors:
        blob = host_view(cfg, s, rnd=rnd).get(outbox(plan.run, rnd, Stage.REVEAL, "shares"))
        revealed[s] = decode_shares(host.open_from(s, blob, rnd=rnd, stage=Stage.REVEAL))
    public = {
        a: host_view(cfg, a, rnd=rnd).get(outbox(plan.run, rnd, Stage.ADVERTISE, PUBLIC_KEY)) for a in advertised
    }
    graph = {a: plan.graph[a] & set(advertised) for a in advertised}
    total = unmask(
        sums,
        revealed=revealed,
        roster=list(plan.roster),
        survivors=survivors,
        dropped=dropped,
        public_keys=public,
        neighbours=graph,
        threshold=plan.threshold,
        run=plan.run,
        rnd=rnd,
    )
    weight = sum(plan.weight(s) for s in survivors)
    return (dequantise(total, frac_bits=plan.frac_bits).astype(np.float64) / weight).astype(np.float32)


def host_party(cfg: FederationConfig) -> Party:
    """The host's party, rebuilt from its key ring and the accounts' published public keys."""
    store = host_store(cfg)
    ring = ensure_keys(cfg, cfg.host.name, store)
    docs = [latest_public_keys(store)] + [latest_public_keys(host_view(cfg, a.name)) for a in cfg.accounts]
    return Party(cfg.host.name, store, ring, PublicDirectory.from_documents(docs), cfg.run)


def aggregate(cfg: FederationConfig, host: Party, plan: RoundPlan, **who: list[str]) -> tuple[str, dict]:
    """Unmask the round, apply the mean update to the global model, seal it; idempotent.

    Returns the host key of the sealed model and the update's statistics.
    """
    out = host_stage(plan.run, plan.rnd, Stage.AGGREGATE, "model")
    if host.store.exists(out):
        return out, {}
    previous = open_model(host, host.store.get(round_model(plan.run, plan.rnd - 1)), rnd=plan.rnd - 1, host=host.name)
    update = unmask_update(cfg, host, plan, **who)
    following = (previous + update).astype(np.float32)
    host.store.put(out, seal_model(host, following, rnd=plan.rnd, participants=list(plan.roster)))
    return out, {"update_norm": float(np.linalg.norm(update))}


def contribution_meta(cfg: FederationConfig, plan: RoundPlan, account: str) -> dict:
    """The public metadata an account published with its contribution (samples, loss, clipped)."""
    view = host_view(cfg, account, rnd=plan.rnd)
    return json.loads(view.get(outbox(plan.run, plan.rnd, Stage.CONTRIBUTE, "meta.json")))


def outbox_bytes(cfg: FederationConfig, plan: RoundPlan, account: str) -> int:
    """Bytes the account sent this round: everything it put in its outbox for the round."""
    view = host_view(cfg, account, rnd=plan.rnd)
    prefix = outbox(plan.run, plan.rnd, "", "").rstrip("/") + "/"
    return sum(len(view.get(k)) for k in view.list(prefix))
