"""A dishonest host, played by a test double that performs each attack for real.

Each attack is detected: the stage it targets stops with an IntegrityError that names
what the host did, and nothing that would unmask one account reaches the host (we
read everything the host can read and check). Scenarios from the dishonest-host issue
(#14); the protocol is in docs/secagg.md ("Threat model").
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from fedring.errors import IntegrityError
from fedring.keys import Authority, Identity, signed
from fedring.keys.signed import canonical
from fedring.layout import (
    Stage,
    accepted_directory,
    advertisement,
    advertisements_in,
    aggregate_model,
    directory,
    global_model_in,
    global_model_statement_in,
    revealed_shares,
    shares_out,
)
from fedring.ml.model import build_model
from fedring.round import advertise, contribute, reveal, ring, share_keys, train
from fedring.round.advertise import accept_view
from fedring.round.consistency import (
    check_signatures,
    collect_signatures,
    sign_survivors,
)
from fedring.round.model import model_statement, seal_model
from fedring.round.party import PUBLIC_KEYS, client_party
from fedring.round.reveal import collect_reveals
from fedring.round.ring import ring_sums
from fedring.round.wire import decode_bundle, encode_bundle, survivor_set
from fedring.secagg import (
    keystream_u32,
    new_round_secrets,
    public_key_bytes,
    quantise,
    reconstruct,
)
from fedring.secagg.shamir import SELF, RevealedShare
from fedring.workloads.federation import federation_workload
from tests.round.conftest import ACCOUNTS, make_federation


def _overwrite(store, key: str, data: bytes) -> None:
    """What a host does to an inbox object on S3, where its role may overwrite (PutObject)."""
    store.delete(key)
    store.put(key, data)


def _host_readable(fed) -> list[bytes]:
    """Every object the host can read: its own bucket and each client's outbox/ and public/."""
    found = [fed.host.store.get(k) for k in fed.host.store.list()]
    for name in fed.parties:
        view = fed.host.view(name)
        found += [view.get(k) for prefix in ("outbox/", "public/") for k in view.list(prefix)]
    return found


def _nothing_revealed(fed) -> bool:  # no reveal object in any outbox
    return not any(p.store.exists(revealed_shares("unit", 1)) for p in fed.parties.values())


# -- keys: the directory and the round keys ------------------------------------------------


def _forged_alpha_document(fed) -> bytes:
    """An "alpha" authority document holding the host's own key, signed with the host's identity."""
    forger = Authority.create("alpha")
    forger.issue("self")
    return signed.sign(fed.host.identity, PUBLIC_KEYS, canonical(forger.public_document()), {"authority": "alpha"})


def test_a_forged_directory_document_is_refused_before_anything_is_sealed_to_it(fed):
    beta = fed.parties["beta"].store
    beta.delete(accepted_directory("unit"))  # beta has not accepted a directory yet
    docs = decode_bundle(beta.get(directory("unit")))
    _overwrite(beta, directory("unit"), encode_bundle({**docs, "alpha": _forged_alpha_document(fed)}))

    with pytest.raises(IntegrityError, match="public-keys statement from alpha: the object is signed by 'host', not 'alpha'"):
        client_party(fed.cfg, "beta")


def test_a_directory_substituted_after_it_was_accepted_changes_nothing(fed):
    beta = fed.parties["beta"].store
    before = fed.parties["beta"].directory.lookup("alpha:self")
    docs = decode_bundle(beta.get(directory("unit")))
    _overwrite(beta, directory("unit"), encode_bundle({**docs, "alpha": _forged_alpha_document(fed)}))

    assert client_party(fed.cfg, "beta").directory.lookup("alpha:self") == before


def test_a_substituted_round_key_is_refused_and_no_share_leaves_the_account(fed):
    plan = fed.advertise_all()
    # The host replaces alpha's advertisement by one with a key it knows, signed as well as it can.
    mine = new_round_secrets()
    body = json.loads(fed.parties["alpha"].verify(fed.parties["alpha"].store.get(advertisement("unit", 1)),
                                                   Stage.ADVERTISE, "alpha", rnd=1))
    body["public_key"] = public_key_bytes(mine).hex()
    fake = signed.sign(Identity("alpha", b"\x01" * 32, fed.host.identity._ed25519), Stage.ADVERTISE, canonical(body),
                       {"run": "unit", "round": 1})
    for name in ("beta", "gamma"):
        bundle = decode_bundle(fed.parties[name].store.get(advertisements_in("unit", 1)))
        _overwrite(fed.parties[name].store, advertisements_in("unit", 1), encode_bundle({**bundle, "alpha": fake}))

    for name in ("beta", "gamma"):
        with pytest.raises(IntegrityError, match="advertise statement from alpha: the signature is not made by alpha's pinned"):
            share_keys.share(fed.parties[name], plan, host="host")
        assert not fed.parties[name].store.exists(shares_out("unit", 1))


def test_the_graph_is_not_the_hosts_to_choose(tmp_path, mnist):
    # Under the old seed, SHA-256(run, round), a host could try run ids until the graph it
    # wanted came out. Now the same run and round give another graph whenever the keys do.
    fed = make_federation(tmp_path, mnist, names=tuple(f"a{i:02d}" for i in range(8)), images=30, degree=2)
    plan = fed.plan()
    graphs = {
        tuple(sorted((a, tuple(sorted(n))) for a, n in plan.seeded({m: new_round_secrets().private_key for m in plan.roster}).graph.items()))
        for _ in range(4)
    }
    assert len(graphs) > 1


# -- models ----------------------------------------------------------------------------------


def test_different_models_to_different_clients_are_caught_before_anyone_masks(fed):
    fed.broadcast()
    # gamma gets another model, properly sealed and signed by the host (Pasquini et al. 2022)
    fw = federation_workload(fed.cfg)
    crafted = seal_model(fed.host, fw.layout.encode(fw.layout.split(build_model(seed=99).state_dict())), rnd=0,
                         participants=list(ACCOUNTS))
    gamma = fed.parties["gamma"].store
    _overwrite(gamma, global_model_in("unit", 1), crafted)
    _overwrite(gamma, global_model_statement_in("unit", 1), model_statement(fed.host, crafted, rnd=0))
    plan = fed.plan()
    for name in ACCOUNTS:
        advertise.advertise(fed.parties[name], plan, host="host")
    advertise_bundle = encode_bundle({n: fed.parties[n].store.get(advertisement("unit", 1)) for n in ACCOUNTS})
    for name in ACCOUNTS:
        fed.parties[name].store.put(advertisements_in("unit", 1), advertise_bundle)

    for name in ACCOUNTS:
        with pytest.raises(IntegrityError, match="the host sent different global models to different accounts"):
            share_keys.share(fed.parties[name], plan, host="host")
    assert not any(fed.parties[n].store.exists(shares_out("unit", 1)) for n in ACCOUNTS)


def test_a_model_the_host_did_not_sign_is_refused(fed):
    fed.broadcast()
    alpha = fed.parties["alpha"].store
    _overwrite(alpha, global_model_in("unit", 1), seal_model(fed.host, bytes(40), rnd=0, participants=["alpha"]))

    with pytest.raises(IntegrityError, match="not the one the host signed"):
        advertise.advertise(fed.parties["alpha"], fed.plan(), host="host")


# -- the ring ---------------------------------------------------------------------------------


def test_a_hop_asked_to_seal_back_along_the_ring_after_sealing_to_the_host_refuses(fed):
    plan = fed.contribute_all()
    first, second, _ = plan.ring_plan.rings[0]
    ring.ring_hop(fed.parties[first], fed.plan(), to="host", came_from=None, host="host")  # "everyone after you failed"

    with pytest.raises(IntegrityError, match=f"asks {first} to seal its partial sum to {second}, back along the ring"):
        ring.ring_hop(fed.parties[first], fed.plan(), to=second, came_from=None, host="host")


def test_a_partial_sum_from_a_later_hop_or_another_ring_is_refused(fed):
    plan = fed.contribute_all()
    first, second, third = plan.ring_plan.rings[0]
    with pytest.raises(IntegrityError, match=f"routes {third}'s partial sum to {second}, which is not an earlier hop"):
        ring.ring_hop(fed.parties[second], fed.plan(), to=third, came_from=third, host="host")
    with pytest.raises(IntegrityError, match=f"asks {second} to seal its partial sum to {first}, which is not a later hop"):
        ring.ring_hop(fed.parties[second], fed.plan(), to=first, came_from=None, host="host")


def test_a_partial_sum_diverted_to_the_host_stays_masked_by_the_pairwise_masks(fed, trained):
    plan = fed.contribute_all()
    first, second, third = plan.ring_plan.rings[0]
    # The host tells the first hop that everyone after it failed: its y alone comes to the host...
    ring.ring_hop(fed.parties[first], fed.plan(), to="host", came_from=None, host="host")
    ring.relay_partial(fed.host, fed.seeded, sender=first, recipient="host")
    # ...then restarts the ring at the second hop, as if the first had dropped.
    ring.ring_hop(fed.parties[second], fed.plan(), to=third, came_from=None, host="host")
    ring.relay_partial(fed.host, fed.seeded, sender=second, recipient=third)
    ring.ring_hop(fed.parties[third], fed.plan(), to="host", came_from=second, host="host")
    everyone = list(ACCOUNTS)

    with pytest.raises(IntegrityError, match=f"went to host, past {second}, {third}, which the host lists as survivors"):
        sign_survivors(fed.parties[first], fed.plan(), survivors=everyone, dropped=[], host="host")
    for name in (second, third):  # they saw nothing wrong, and 2 of 3 is a majority
        sign_survivors(fed.parties[name], fed.plan(), survivors=everyone, dropped=[], host="host")
    signatures = collect_signatures(fed.host, fed.seeded, [second, third])
    for name in (second, third):
        reveal.reveal(fed.parties[name], fed.plan(), survivors=everyone, dropped=[], signatures=signatures, host="host")

    # All the host can do with what it read: the first account's y minus its self mask...
    (alone,) = ring_sums(fed.host, fed.seeded, [first])
    revealed = collect_reveals(fed.host, fed.seeded, [second, third])
    b = reconstruct({h: revealed[h][first] for h in (second, third)}, owner=first, kind=SELF,
                    threshold=plan.threshold, run="unit", rnd=1, roster=list(plan.roster))
    leftover = alone - keystream_u32(b, alone.size)
    start, after = trained[(first, 1)]
    q, _ = quantise(after - start, weight=plan.weight(first), clip=plan.clip, frac_bits=plan.frac_bits)
    # ...is still hidden by the pairwise masks with the two survivors, whose keys were never revealed.
    assert np.count_nonzero(leftover[: q.size] == q) < q.size // 1000


# -- the survivor set --------------------------------------------------------------------------


def test_a_victim_listed_with_all_its_neighbours_dropped_is_refused_by_every_survivor(tmp_path, mnist):
    # The issue's attack: the victim's self-mask seed from its holders and its neighbours'
    # keys from theirs. With one signed set for all, the set must say so openly: refused.
    names = tuple(f"a{i:02d}" for i in range(8))
    fed = make_federation(tmp_path, mnist, names=names, images=30, degree=4, threshold=3)
    plan = fed.contribute_all()
    fed.ring()
    victim = names[0]
    dropped = sorted(plan.graph[victim])
    survivors = sorted(set(names) - set(dropped))

    for name in survivors:
        with pytest.raises(IntegrityError, match="refuses the survivor set"):
            sign_survivors(fed.parties[name], fed.plan(), survivors=survivors, dropped=dropped, host="host")
    assert _nothing_revealed(fed)


def test_different_survivor_sets_for_different_holders_never_reveal_both_secrets_of_one_account(tmp_path, mnist):
    names = tuple(f"a{i:02d}" for i in range(5))
    fed = make_federation(tmp_path, mnist, names=names, images=30)
    fed.contribute_all()
    survivors = fed.ring()
    victim = survivors[0]
    # The host tells two survivors the truth and the other three that the victim dropped,
    # hoping for the victim's self-mask seed from the first group and its key from the second.
    stories = {name: ([], survivors) if i < 2 else ([victim], [s for s in survivors if s != victim])
               for i, name in enumerate(survivors)}
    signed_by: dict[tuple, dict[str, bytes]] = {}
    for name, (dropped, alive) in stories.items():
        try:
            sign_survivors(fed.parties[name], fed.plan(), survivors=alive, dropped=dropped, host="host")
        except IntegrityError:
            continue  # the victim's ring neighbours see the lie in their own routing and refuse
        blob = fed.parties[name].store.get(f"outbox/unit/0001/{Stage.CONSISTENCY}/signature")
        signed_by.setdefault((tuple(dropped), tuple(alive)), {})[name] = blob
    for (dropped, alive), signatures in signed_by.items():
        for name in signatures:  # each group reveals with what its own group signed
            try:
                reveal.reveal(fed.parties[name], fed.plan(), survivors=list(alive), dropped=list(dropped),
                              signatures=signatures, host="host")
            except IntegrityError as exc:
                assert "reveals nothing" in str(exc)

    # Everything the host can read: no account has both its self-mask seed and its key revealed.
    kinds: dict[str, set[str]] = {}
    for name, party in fed.parties.items():
        if party.store.exists(revealed_shares("unit", 1)):
            for owner, blob in collect_reveals(fed.host, fed.seeded, [name])[name].items():
                kinds.setdefault(owner, set()).add(RevealedShare.from_bytes(blob).kind)
    assert all(len(k) == 1 for k in kinds.values())
    assert SELF not in kinds.get(victim, set())  # its update stays under its self mask


def _signed_survivor_set(fed):
    """A round up to its consistency step: the signatures collected, alpha's view, the body they sign."""
    fed.contribute_all()
    fed.ring()
    signatures = fed.sign_all()
    view = accept_view(fed.parties["alpha"], fed.plan(), host="host")
    return signatures, view, survivor_set(fed.survivors, [], model=view.model, view=view.digest)


def test_a_survivor_set_signed_in_an_earlier_round_is_refused(fed):
    signatures, view, body = _signed_survivor_set(fed)
    alpha = fed.parties["alpha"]
    later = replace(view, plan=replace(view.plan, rnd=2))  # the same set, offered again in round 2

    with pytest.raises(IntegrityError, match=r"made for .*'round': 1.*\(replayed or moved\)"):
        check_signatures(alpha, later, body, signatures, fed.survivors)


def test_a_forged_signature_is_refused_even_after_a_majority_of_good_ones(fed):
    # alpha's and beta's statements already make the majority; the host forges gamma's, which
    # sorts last: every survivor still checks it, refuses to reveal and names the forgery
    signatures, view, body = _signed_survivor_set(fed)
    assert view.plan.signatures_needed == 2 and sorted(signatures) == ["alpha", "beta", "gamma"]
    posing = Identity("gamma", b"\x01" * 32, fed.host.identity._ed25519)
    forged = {**signatures, "gamma": signed.sign(posing, Stage.CONSISTENCY, body, {"run": "unit", "round": 1})}

    for name in fed.survivors:
        with pytest.raises(IntegrityError, match="consistency statement from gamma: the signature is not made by gamma's pinned"):
            check_signatures(fed.parties[name], view, body, forged, fed.survivors)
    check_signatures(fed.parties["alpha"], view, body, signatures, fed.survivors)  # the genuine statements pass


# -- inputs from a colluding client ------------------------------------------------------------


def test_an_out_of_range_input_from_a_client_is_refused_by_the_host(fed, monkeypatch):
    real = train.quantise

    def inflated(delta, **kwargs):
        q, clipped = real(delta, **kwargs)
        return q + np.uint32(2**30), clipped  # far beyond the clip

    fed.share_all()
    monkeypatch.setattr(train, "quantise", inflated)
    contribute.contribute(fed.parties["beta"], fed.plan(), host="host", vector=contribute.vector_for(fed.cfg, fed.plan(), host="host"))
    monkeypatch.setattr(train, "quantise", real)
    for name in ("alpha", "gamma"):
        contribute.contribute(fed.parties[name], fed.plan(), host="host", vector=contribute.vector_for(fed.cfg, fed.plan(), host="host"))
    fed.ring()
    fed.reveal_all(fed.sign_all())

    with pytest.raises(IntegrityError, match="outside what 3 clipped updates can produce"):
        fed.aggregate()
    assert not fed.host.store.exists(aggregate_model("unit", 1))


def test_a_wrong_self_mask_share_is_caught_by_the_commitment(fed, monkeypatch):
    fed.contribute_all()
    fed.ring()
    signatures = fed.sign_all()
    real = reveal.reveal_shares

    def corrupt(held, **kwargs):
        out = real(held, **kwargs)
        if kwargs["me"] == "beta":
            blob = bytearray(out["alpha"])
            blob[-1] ^= 0x01  # beta colludes and reveals a wrong share of alpha's self-mask seed
            out["alpha"] = bytes(blob)
        return out

    monkeypatch.setattr(reveal, "reveal_shares", corrupt)
    fed.reveal_all(signatures)
    with pytest.raises(IntegrityError, match="self-mask seed rebuilt for alpha does not match its commitment"):
        fed.aggregate()
    assert not fed.host.store.exists(aggregate_model("unit", 1))
