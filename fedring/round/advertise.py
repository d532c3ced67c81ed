"""Advertise: each account draws its round secrets and shares them; the host relays.

Bonawitz et al. 2017 (https://eprint.iacr.org/2017/281), AdvertiseKeys and ShareKeys.

- ``publish_directory`` (host, once per run): every account's public attribute keys,
  delivered to each client, so that clients can seal to one another.
- ``advertise`` (client): draw the round secrets (X25519 key a_i, self-mask seed b_i),
  keep them sealed to itself, write the Shamir shares of both (t of the holders: the
  account's graph neighbours and itself) each sealed to its holder, in one outbox
  object, and the round public key last (it marks the stage complete).
- ``relay_advertisements`` (host): give every advertiser the round's key list and, in
  one inbox object, the shares sealed to it.
- ``round_keys`` (client): read the key list the host relayed (used by contribute).

The shares are made before any training: an account that masks with a neighbour must
be sure the neighbour's key can be rebuilt if the neighbour then fails.
"""

from __future__ import annotations

import json

from fedring.layout import Stage, directory, own_shares, round_keys as round_keys_key, round_public_key
from fedring.layout import round_secrets, shares_in, shares_out
from fedring.round.party import Host, Party, latest_public_keys
from fedring.round.plan import RoundPlan
from fedring.round.wire import decode_shares, encode_shares
from fedring.secagg import make_shares, new_round_secrets, public_key_bytes


def publish_directory(host: Host) -> None:
    """Host: gather every account's public keys and give each client the directory."""
    clients = [a.name for a in host.cfg.accounts]
    docs = [latest_public_keys(host.store)] + [latest_public_keys(host.view(a)) for a in clients]
    payload = json.dumps(docs, sort_keys=True).encode()
    for name in clients:
        host.view(name).put(directory(host.run), payload)


def advertise(party: Party, plan: RoundPlan) -> dict:
    """Client: draw this round's secrets, keep them sealed, publish the public key and sealed shares."""
    rnd, me = plan.rnd, party.name
    done_key = round_public_key(plan.run, rnd)
    if party.store.exists(done_key):
        return {"reused": True, "bytes_sent": 0}
    secrets = new_round_secrets()
    party.keep(round_secrets(plan.run, rnd), secrets.to_bytes(), rnd=rnd, stage=Stage.ADVERTISE)
    shares = make_shares(
        secrets, me=me, holders=plan.holders(me), threshold=plan.threshold, run=plan.run, rnd=rnd, roster=list(plan.roster)
    )
    party.keep(own_shares(plan.run, rnd, me), shares.pop(me), rnd=rnd, stage=Stage.SHARES)
    # One object for all holders (each share sealed to its holder): the host splits it.
    bundle = encode_shares({holder: party.seal_to(holder, blob, rnd=rnd, stage=Stage.SHARES) for holder, blob in shares.items()})
    party.store.put(shares_out(plan.run, rnd), bundle)
    public = public_key_bytes(secrets)
    party.store.put(done_key, public)  # written last: marks the stage complete
    return {"reused": False, "bytes_sent": len(bundle) + len(public)}


def relay_advertisements(host: Host, plan: RoundPlan, advertised: list[str]) -> int:
    """Host: give every advertiser the round's public keys and the shares sealed to it; returns bytes."""
    views = {a: host.view(a, rnd=plan.rnd) for a in advertised}
    keys = {a: views[a].get(round_public_key(plan.run, plan.rnd)).hex() for a in advertised}
    payload = json.dumps(keys, sort_keys=True).encode()
    moved = 0
    for a in advertised:
        views[a].put(round_keys_key(plan.run, plan.rnd), payload)
        moved += len(payload)
    held: dict[str, dict[str, bytes]] = {a: {} for a in advertised}  # holder -> owner -> sealed share
    for owner in advertised:
        for holder, blob in decode_shares(views[owner].get(shares_out(plan.run, plan.rnd))).items():
            if holder in held and holder in plan.graph[owner]:
                held[holder][owner] = blob
    for holder, shares in held.items():
        bundle = encode_shares(shares)
        views[holder].put(shares_in(plan.run, plan.rnd), bundle)
        moved += len(bundle)
    return moved


def round_keys(party: Party, plan: RoundPlan) -> dict[str, bytes]:
    """Client: the advertised public keys of the round, as the host relayed them."""
    raw = json.loads(party.store.get(round_keys_key(plan.run, plan.rnd)))
    return {name: bytes.fromhex(key) for name, key in raw.items()}


def advertised_keys(host: Host, plan: RoundPlan, advertised: list[str]) -> dict[str, bytes]:
    """Host: the round public key each advertiser published (for unmasking)."""
    return {a: host.view(a, rnd=plan.rnd).get(round_public_key(plan.run, plan.rnd)) for a in advertised}
