import os

from Crypto.Protocol.SecretSharing import Shamir, _Element
from hypothesis import given, settings
from hypothesis import strategies as st

from fedring.secagg import gf128

elements = st.integers(0, 2**128 - 1)


@settings(max_examples=60, deadline=None)
@given(elements, elements)
def test_mul_matches_pycryptodome_field(a, b):
    assert gf128.mul(a, b) == int(_Element(a) * _Element(b))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 2**128 - 1))
def test_inverse(a):
    assert gf128.mul(a, gf128.inverse(a)) == 1


def test_hand_values():
    # x^127 * x = x^128 = x^7 + x^2 + x + 1 = 0x87
    assert gf128.mul(1 << 127, 2) == 0x87
    assert gf128.inverse(1) == 1
    assert gf128.evaluate([1, 0, 5], 3) == 0b101 ^ 0b101  # 3^2 = x^2+1 = 5 (carry-less), 5 xor 5 = 0


def test_interoperates_with_pycryptodome_shamir():
    secret = os.urandom(16)
    # pycryptodome's split, our combine
    shares = Shamir.split(3, 5, secret)
    assert gf128.combine([shares[4], shares[1], shares[2]]) == secret
    # our evaluation at chosen indices, pycryptodome's combine
    coeffs = [int.from_bytes(os.urandom(16), "big"), int.from_bytes(os.urandom(16), "big"), int.from_bytes(secret, "big")]
    ours = [(x, gf128.evaluate(coeffs, x).to_bytes(16, "big")) for x in (7, 300, 999)]
    assert Shamir.combine(ours) == secret
