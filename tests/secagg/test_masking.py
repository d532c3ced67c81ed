import numpy as np
import pytest

from fedring.errors import ConfigError, ProtocolError
from fedring.secagg.keys import new_round_secrets, pair_seed, public_key_bytes
from fedring.secagg.masking import mask
from fedring.secagg.prg import keystream_u32
from tests.secagg.uniformity import looks_uniform

D = 4096


def two_accounts():
    sec = {n: new_round_secrets() for n in ("alice", "bob")}
    pub = {n: public_key_bytes(s) for n, s in sec.items()}
    return sec, pub


def test_mask_formula_for_two_accounts():
    # Prepare
    sec, pub = two_accounts()
    qa, qb = np.full(8, 7, np.uint32), np.full(8, 2**32 - 1, np.uint32)
    s = pair_seed(sec["alice"], pub["bob"], run="r", rnd=3, a="alice", b="bob")
    # Execute
    ya = mask(qa, me="alice", secrets=sec["alice"], peers_public=pub, neighbours=["bob"], run="r", rnd=3)
    yb = mask(qb, me="bob", secrets=sec["bob"], peers_public=pub, neighbours=["alice"], run="r", rnd=3)
    # Assert: alice < bob adds PRG(s), bob subtracts it; the pair cancels in the sum
    assert np.array_equal(ya, qa + keystream_u32(sec["alice"].self_seed, 8) + keystream_u32(s, 8))
    assert np.array_equal(yb, qb + keystream_u32(sec["bob"].self_seed, 8) - keystream_u32(s, 8))
    self_masks = keystream_u32(sec["alice"].self_seed, 8) + keystream_u32(sec["bob"].self_seed, 8)
    assert (ya + yb - self_masks).tolist() == [6] * 8
    assert qa.tolist() == [7] * 8  # not in place by default


def test_masked_zero_update_looks_uniform():
    sec, pub = two_accounts()
    zeros = np.zeros(D, np.uint32)
    assert not looks_uniform(zeros)  # the test can fail
    y = mask(zeros, me="alice", secrets=sec["alice"], peers_public=pub, neighbours=["bob"], run="r", rnd=1)
    assert looks_uniform(y)


def test_inplace_overwrites_q():
    sec, pub = two_accounts()
    q = np.zeros(16, np.uint32)
    assert mask(q, me="alice", secrets=sec["alice"], peers_public=pub, neighbours=[], run="r", rnd=1, inplace=True) is q


def test_missing_public_key_or_self_neighbour_is_refused():
    sec, pub = two_accounts()
    q = np.zeros(4, np.uint32)
    with pytest.raises(ProtocolError, match="carol"):
        mask(q, me="alice", secrets=sec["alice"], peers_public=pub, neighbours=["bob", "carol"], run="r", rnd=1)
    with pytest.raises(ConfigError, match="itself"):
        mask(q, me="alice", secrets=sec["alice"], peers_public=pub, neighbours=["alice"], run="r", rnd=1)
    with pytest.raises(ConfigError, match="uint32"):
        mask(q.astype(np.int64), me="alice", secrets=sec["alice"], peers_public=pub, neighbours=[], run="r", rnd=1)
