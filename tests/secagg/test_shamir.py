import pytest

from fedring.errors import ConfigError, IntegrityError, NotEnoughShares, ProtocolError, RevealRefused, TooFewSurvivors
from fedring.secagg.keys import new_round_secrets
from fedring.secagg.shamir import RevealedShare, ShareBundle, make_shares, reconstruct, reveal

ROSTER = ["a", "b", "c", "d", "e"]


def shares_for(owner="a", threshold=3, run="r", rnd=1):
    s = new_round_secrets()
    return s, make_shares(s, me=owner, holders=ROSTER, threshold=threshold, run=run, rnd=rnd, roster=ROSTER)


def reveal_all(blobs, owner, survivors, dropped, run="r", rnd=1):
    return {h: reveal({owner: blob}, me=h, survivors=survivors, dropped=dropped, run=run, rnd=rnd)[owner] for h, blob in blobs.items() if h in survivors}


def test_bundle_carries_context_and_roster_index():
    s, blobs = shares_for()
    b = ShareBundle.from_bytes(blobs["c"])
    assert (b.run, b.rnd, b.owner, b.holder, b.index, b.threshold) == ("r", 1, "a", "c", 3, 3)
    assert ShareBundle.from_bytes(b.to_bytes()) == b


def test_any_t_shares_reconstruct_b_and_a():
    # Prepare
    s, blobs = shares_for()
    # Execute: a survived -> b-shares; in another scenario a dropped -> a-shares
    got_b = reveal_all(blobs, "a", survivors=["a", "c", "e"], dropped=[])
    got_a = {h: reveal({"a": blobs[h]}, me=h, survivors=["b", "c", "d"], dropped=["a"], run="r", rnd=1)["a"] for h in "bcd"}
    # Assert
    assert reconstruct(got_b, owner="a", kind="b", threshold=3, run="r", rnd=1) == s.self_seed
    assert reconstruct(got_a, owner="a", kind="a", threshold=3, run="r", rnd=1) == s.private_key


def test_fewer_than_t_shares_fail_naming_the_owner():
    s, blobs = shares_for()
    got = reveal_all(blobs, "a", survivors=["a", "c", "e"], dropped=[])
    del got["e"]
    with pytest.raises(NotEnoughShares, match="a: 2 b-share"):
        reconstruct(got, owner="a", kind="b", threshold=3, run="r", rnd=1)


def test_reveal_refuses_both_kinds_for_one_peer():
    s, blobs = shares_for()
    with pytest.raises(RevealRefused, match="a"):
        reveal({"a": blobs["c"]}, me="c", survivors=["a", "c", "d"], dropped=["a"], run="r", rnd=1)
    first = reveal({"a": blobs["c"]}, me="c", survivors=["a", "c", "d"], dropped=[], run="r", rnd=1)
    with pytest.raises(RevealRefused, match="already revealed the b-share of a"):
        reveal({"a": blobs["c"]}, me="c", survivors=["b", "c", "d"], dropped=["a"], run="r", rnd=1, previous=first)
    assert reveal({"a": blobs["c"]}, me="c", survivors=["a", "c", "d"], dropped=[], run="r", rnd=1, previous=first).keys() == {"a"}


def test_replayed_share_from_another_round_is_refused():
    _, old = shares_for(rnd=1)
    with pytest.raises(IntegrityError, match="another run, round"):
        reveal({"a": old["c"]}, me="c", survivors=["a", "c", "d"], dropped=[], run="r", rnd=2)
    with pytest.raises(IntegrityError):
        reveal({"a": old["c"]}, me="d", survivors=["a", "c", "d"], dropped=[], run="r", rnd=1)  # mis-routed


def test_revealed_share_of_the_wrong_round_or_kind_is_refused():
    _, blobs = shares_for()
    got = reveal_all(blobs, "a", survivors=["a", "c", "e"], dropped=[])
    with pytest.raises(IntegrityError):
        reconstruct(got, owner="a", kind="b", threshold=3, run="r", rnd=2)
    with pytest.raises(IntegrityError):
        reconstruct(got, owner="a", kind="a", threshold=3, run="r", rnd=1)
    with pytest.raises(IntegrityError):
        reconstruct({"d": got["c"], **{k: v for k, v in got.items() if k != "c"}}, owner="a", kind="b", threshold=3, run="r", rnd=1)
    with pytest.raises(IntegrityError):
        RevealedShare.from_bytes(got["c"][:-1])


def test_too_few_survivors_and_dropped_revealer_reveal_nothing():
    _, blobs = shares_for()
    with pytest.raises(TooFewSurvivors):
        reveal({"a": blobs["c"]}, me="c", survivors=["a", "c"], dropped=[], run="r", rnd=1)
    with pytest.raises(ProtocolError, match="dropped"):
        reveal({"a": blobs["c"]}, me="c", survivors=["a", "b", "d"], dropped=["c"], run="r", rnd=1)


@pytest.mark.parametrize("t", [1, 2, 6])
def test_threshold_must_be_a_majority_of_holders(t):
    with pytest.raises(ConfigError, match="threshold"):
        shares_for(threshold=t)


def test_revealed_index_must_be_the_revealers_roster_position():
    _, blobs = shares_for()
    got = reveal_all(blobs, "a", survivors=["a", "c", "e"], dropped=[])
    stolen = RevealedShare.from_bytes(got["a"]).share
    forged = dict(got, b=RevealedShare("r", 1, "a", "b", "b", 1, 3, stolen).to_bytes())  # b claims a's x = 1
    del forged["a"]
    with pytest.raises(IntegrityError, match="index"):
        reconstruct(forged, owner="a", kind="b", threshold=3, run="r", rnd=1, roster=ROSTER)


def test_previous_reveal_from_another_round_is_refused():
    _, blobs = shares_for()
    _, old_blobs = shares_for(rnd=0)
    old = reveal({"a": old_blobs["c"]}, me="c", survivors=["a", "c", "d"], dropped=[], run="r", rnd=0)
    with pytest.raises(IntegrityError, match="previous"):
        reveal({"a": blobs["c"]}, me="c", survivors=["a", "c", "d"], dropped=[], run="r", rnd=1, previous=old)
