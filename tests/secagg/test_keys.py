import pytest

from fedring.errors import ConfigError, IntegrityError
from fedring.secagg.keys import RoundSecrets, new_round_secrets, pair_seed, public_key_bytes


def test_pair_seed_is_symmetric_and_bound_to_run_round_and_pair():
    # Prepare
    a, b = new_round_secrets(), new_round_secrets()
    pa, pb = public_key_bytes(a), public_key_bytes(b)
    # Execute
    s_ab = pair_seed(a, pb, run="r", rnd=1, a="alice", b="bob")
    s_ba = pair_seed(b, pa, run="r", rnd=1, a="bob", b="alice")
    # Assert
    assert s_ab == s_ba and len(s_ab) == 32
    assert pair_seed(a, pb, run="r", rnd=2, a="alice", b="bob") != s_ab
    assert pair_seed(a, pb, run="q", rnd=1, a="alice", b="bob") != s_ab
    assert pair_seed(a, pb, run="r", rnd=1, a="alice", b="carol") != s_ab
    assert pair_seed(a.private_key, pb, run="r", rnd=1, a="alice", b="bob") == s_ab


def test_round_secrets_round_trip_and_hidden_repr():
    s = new_round_secrets()
    assert RoundSecrets.from_bytes(s.to_bytes()) == s
    assert s.private_key.hex() not in repr(s) and s.self_seed.hex() not in repr(s)
    assert len(public_key_bytes(s)) == 32
    with pytest.raises(IntegrityError):
        RoundSecrets.from_bytes(s.to_bytes()[:-1])


def test_invalid_peer_key_and_same_pair_are_refused():
    s = new_round_secrets()
    with pytest.raises(IntegrityError):
        pair_seed(s, bytes(32), run="r", rnd=1, a="x", b="y")  # low-order point
    with pytest.raises(ConfigError, match="two different"):
        pair_seed(s, public_key_bytes(s), run="r", rnd=1, a="x", b="x")
