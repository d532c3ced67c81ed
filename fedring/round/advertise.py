"""Advertise: each account publishes its round key, signed; the host relays every advertisement.

Bonawitz et al. 2017 (https://eprint.iacr.org/2017/281), AdvertiseKeys.

- ``publish_directory`` (host, once per run): every account's signed public-key
  document, delivered to each client, so that clients can seal to one another.
- ``advertise`` (client): draw the round secrets (X25519 key a_i, self-mask seed b_i),
  keep them sealed to itself, and publish a signed advertisement: the round public key
  A_i, a commitment to b_i, and the digest of the global model it received (checked
  against the host's signature).
- ``relay_advertisements`` (host): check each advertisement and give every advertiser
  all of them. The round's graph and ring order are seeded by all advertised keys
  (``RoundPlan.seeded``), so the host does not choose them.
- ``accept_view`` (client): check every relayed advertisement against its author's pin,
  refuse a view with another model digest or fewer than t members, and keep the view it
  accepted: every later stage of the round holds to it.

Every write is safe to repeat: the secrets are kept once (a retry adopts them) and an
Ed25519 signature is deterministic, so a rerun writes the same advertisement.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache

from fedring.errors import IntegrityError
from fedring.keys import signed
from fedring.keys.signed import canonical
from fedring.layout import Stage, accepted_view, advertisement, advertisements_in, directory, round_secrets
from fedring.round.model import received_digest
from fedring.round.party import Host, Party, latest_public_keys
from fedring.round.plan import RoundPlan
from fedring.round.wire import decode_bundle, encode_bundle
from fedring.secagg import RoundSecrets, new_round_secrets, public_key_bytes, self_commitment


def publish_directory(host: Host) -> None:
    """Host: gather every account's signed public keys and give each client the directory."""
    clients = [a.name for a in host.cfg.accounts]
    docs = {host.name: latest_public_keys(host.store)} | {a: latest_public_keys(host.view(a)) for a in clients}
    payload = encode_bundle(docs)
    for name in clients:
        host.view(name).put(directory(host.run), payload)


def model_digest(party: Party, plan: RoundPlan, *, host: str) -> str:
    """The digest of the model the sum is over, as the host signed it ("" for statistics: no model)."""
    return received_digest(party, plan, host=host) if plan.has_model else ""


def round_secrets_of(party: Party, plan: RoundPlan) -> RoundSecrets:
    """This account's secrets of the round: drawn once, then the kept ones (a retry adopts them)."""
    kept = party.keep(round_secrets(plan.run, plan.label), new_round_secrets().to_bytes(), rnd=plan.label, stage=Stage.ADVERTISE)
    return RoundSecrets.from_bytes(kept)


def advertise(party: Party, plan: RoundPlan, *, host: str) -> dict:
    """Client: publish the signed round key, self-mask commitment and model digest."""
    rnd, me = plan.label, party.name
    key = advertisement(plan.run, rnd)
    if party.store.exists(key):
        return {"reused": True, "bytes_sent": 0}
    digest = model_digest(party, plan, host=host)
    secrets = round_secrets_of(party, plan)
    body = canonical({
        "public_key": public_key_bytes(secrets).hex(),
        "commitment": self_commitment(secrets.self_seed, run=plan.run, rnd=rnd, owner=me).hex(),
        "model": digest,
    })
    statement = party.sign(Stage.ADVERTISE, body, rnd=rnd)
    party.store.put(key, statement)
    return {"reused": False, "bytes_sent": len(statement)}


@dataclass(frozen=True)
class View:
    """The round as one account accepted it: members' keys and commitments, model, seeded plan.

    Read only: the accounts of one process share the view parsed from equal kept bytes.
    """

    plan: RoundPlan
    public_keys: dict[str, bytes]
    commitments: dict[str, bytes]
    model: str  # digest of the global model every member advertised
    digest: str  # digest of the accepted advertisements, signed again in the consistency check


def read_view(party: Party, plan: RoundPlan, bundle: bytes, *, checked: bool = False) -> View:
    """Check a bundle of advertisements against their authors' pins; the round view they make.

    ``checked``: the bundle is the account's own kept copy, checked when it was accepted
    (sealed to itself in its own bucket), so neither the signatures nor the view's rules
    are checked again.
    """
    if checked:
        return _kept_view(plan, bundle)
    bodies = {name: party.verify(s, Stage.ADVERTISE, name, rnd=plan.label) for name, s in decode_bundle(bundle).items()}
    view, models = _parsed(plan, bundle, bodies)
    if len(set(models.values())) > 1:
        detail = ", ".join(f"{a}: {d[:12]}" for a, d in sorted(models.items()))
        raise IntegrityError(f"round {plan.label}: the host sent different global models to different accounts ({detail})")
    if len(view.public_keys) < plan.threshold:
        raise IntegrityError(
            f"round {plan.label}: the host relayed {len(view.public_keys)} advertisement(s), fewer than the "
            f"threshold {plan.threshold}; {party.name} will not mask with so few"
        )
    return view


@lru_cache(maxsize=4)
def _kept_view(plan: RoundPlan, bundle: bytes) -> View:
    """An accepted view, parsed once per content in a process.

    Every stage after share-keys reads the view its account kept: n advertisements parsed
    and the graph seeded again, by each account in each stage, n² parses a stage. Where one
    process runs many accounts' stages, those that accepted the same bytes share one parse.
    An account handed other bytes gets its own: the bytes are the key.
    """
    return _parsed(plan, bundle, {name: signed.body(s) for name, s in decode_bundle(bundle).items()})[0]


def _parsed(plan: RoundPlan, bundle: bytes, bodies: dict[str, bytes]) -> tuple[View, dict[str, str]]:
    """The view the advertisement ``bodies`` make, and the model digest each advertised."""
    keys, commitments, models = {}, {}, {}
    for name, body in bodies.items():
        fields = json.loads(body)
        keys[name] = bytes.fromhex(fields["public_key"])
        commitments[name] = bytes.fromhex(fields["commitment"])
        models[name] = fields["model"]
    model = next(iter(models.values()), "")
    return View(plan.seeded(keys), keys, commitments, model, hashlib.sha256(bundle).hexdigest()), models


def accept_view(party: Party, plan: RoundPlan, *, host: str) -> View:
    """Client: the advertisements the host relayed, checked, kept; the round view from then on.

    The account's own advertisement must be among them, byte for byte, and every
    member must have advertised the model this account received. Once accepted, the
    view is kept: a host that rewrites the inbox later changes nothing.
    """
    key = accepted_view(plan.run, plan.label)
    if party.store.exists(key):
        return read_view(party, plan, party.recall(key, rnd=plan.label, stage=Stage.SHARES), checked=True)
    bundle = party.store.get(advertisements_in(plan.run, plan.label))
    view = read_view(party, plan, bundle)
    own = party.store.get(advertisement(plan.run, plan.label))
    if decode_bundle(bundle).get(party.name) != own:
        raise IntegrityError(f"round {plan.label}: the host left out or replaced {party.name}'s own advertisement")
    if view.model != model_digest(party, plan, host=host):
        raise IntegrityError(f"round {plan.label}: the advertised global model is not the one {party.name} received")
    kept = party.keep(key, bundle, rnd=plan.label, stage=Stage.SHARES)
    return view if kept == bundle else read_view(party, plan, kept, checked=True)


def relay_advertisements(host: Host, plan: RoundPlan, advertised: list[str]) -> tuple[RoundPlan, int]:
    """Host: give every advertiser all advertisements; returns the seeded plan and the bytes moved."""
    statements = {a: host.view(a, rnd=plan.label).get(advertisement(plan.run, plan.label)) for a in advertised}
    bundle = encode_bundle(statements)
    view = read_view(host, plan, bundle)  # the host checks what it relays, as each client will
    for a in advertised:
        host.view(a, rnd=plan.label).put(advertisements_in(plan.run, plan.label), bundle)
    return view.plan, len(bundle) * len(advertised)


def host_view_of(host: Host, plan: RoundPlan, advertised: list[str]) -> View:
    """Host: the round view made of the advertisements it relayed (to unmask with)."""
    statements = {a: host.view(a, rnd=plan.label).get(advertisement(plan.run, plan.label)) for a in advertised}
    return read_view(host, plan, encode_bundle(statements))
