import numpy as np
import pytest

from fedring.errors import IntegrityError, NotEnoughShares, TooFewSurvivors
from fedring.secagg.graph import neighbours
from fedring.secagg.keys import new_round_secrets, public_key_bytes
from fedring.secagg.masking import mask
from fedring.secagg.ring import add_into
from fedring.secagg.shamir import make_shares, reveal
from fedring.secagg.unmask import unmask

ROSTER = ["a", "b", "c", "d", "e"]
SEED = bytes(32)
D = 16


def run_round(dropped=(), threshold=3, rnd=1):
    """Stages by hand: advertise, share, mask, one ring, reveal. Returns what the host holds."""
    graph = neighbours(ROSTER, degree=None, seed=SEED)
    sec = {n: new_round_secrets() for n in ROSTER}
    pub = {n: public_key_bytes(s) for n, s in sec.items()}
    inbox = {n: {} for n in ROSTER}
    for n in ROSTER:
        for h, blob in make_shares(sec[n], me=n, holders=ROSTER, threshold=threshold, run="r", rnd=rnd, roster=ROSTER).items():
            inbox[h][n] = blob
    q = {n: np.full(D, i + 1, np.uint32) for i, n in enumerate(ROSTER)}
    partial = None
    for n in ROSTER:
        if n not in dropped:
            partial = add_into(partial, mask(q[n], me=n, secrets=sec[n], peers_public=pub, neighbours=graph[n], run="r", rnd=rnd))
    survivors = [n for n in ROSTER if n not in dropped]
    revealed = {n: reveal(inbox[n], me=n, survivors=survivors, dropped=dropped, run="r", rnd=rnd) for n in survivors}
    kw = dict(roster=ROSTER, survivors=survivors, dropped=list(dropped), public_keys=pub, neighbours=graph, threshold=threshold, run="r", rnd=rnd)
    return partial, revealed, kw


def test_unmask_recovers_exact_sum_with_dropouts():
    # Prepare: q_a..q_e = 1..5; b and d drop after sharing
    partial, revealed, kw = run_round(dropped=("b", "d"))
    # Execute
    total = unmask([partial], revealed=revealed, **kw)
    # Assert: 1 + 3 + 5
    assert total.tolist() == [9] * D


def test_fewer_than_t_shares_names_owner_and_silent_holders():
    partial, revealed, kw = run_round(dropped=("b", "d"))
    del revealed["e"]["a"], revealed["c"]["a"]
    with pytest.raises(NotEnoughShares, match=r"a \(no share from b, c, d, e\)"):
        unmask([partial], revealed=revealed, **kw)


def test_too_few_survivors():
    partial, revealed, kw = run_round(dropped=("b", "d"))
    kw["survivors"], kw["dropped"] = ["a", "c"], ["b", "d", "e"]
    with pytest.raises(TooFewSurvivors, match="2 survivors, threshold 3"):
        unmask([partial], revealed=revealed, **kw)


def test_shares_of_another_round_fail():
    partial, _, kw = run_round(dropped=("b",))
    _, old, _ = run_round(dropped=("b",), rnd=0)
    with pytest.raises(IntegrityError):
        unmask([partial], revealed=old, **kw)


def test_key_not_matching_the_advertised_public_key_fails():
    partial, revealed, kw = run_round(dropped=("b",))
    kw["public_keys"] = dict(kw["public_keys"], b=public_key_bytes(new_round_secrets()))
    with pytest.raises(IntegrityError, match="advertised public key"):
        unmask([partial], revealed=revealed, **kw)
