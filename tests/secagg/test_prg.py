import os

import numpy as np
import pytest
from Crypto.Cipher import AES

from fedring.errors import ConfigError
from fedring.secagg.prg import _keystream_u32, add_keystream, keystream_u32

# NIST SP 800-38A, F.5.5 CTR-AES256.Encrypt
NIST_KEY = bytes.fromhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
NIST_CTR = bytes.fromhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
NIST_PT = bytes.fromhex(
    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"
)
NIST_CT = bytes.fromhex(
    "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
    "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6"
)


def test_keystream_matches_nist_sp800_38a_f55():
    # Execute: keystream = C xor P
    ks = _keystream_u32(NIST_KEY, 16, counter_block=NIST_CTR)
    # Assert
    expected = bytes(p ^ c for p, c in zip(NIST_PT, NIST_CT))
    assert ks.astype("<u4").tobytes() == expected


def test_keystream_matches_pycryptodome_ctr_with_zero_iv():
    # Prepare: a length that is not a multiple of the chunk, so the last chunk is partial
    key = bytes(range(32))
    n = (1 << 16) * 2 + 5
    ref = AES.new(key, AES.MODE_CTR, nonce=b"", initial_value=bytes(16)).encrypt(bytes(4 * n))
    # Execute
    ks = keystream_u32(key, n)
    # Assert
    assert ks.astype("<u4").tobytes() == ref
    assert ks[:2].tolist() == [int.from_bytes(ref[0:4], "little"), int.from_bytes(ref[4:8], "little")]


def test_add_and_subtract_keystream_in_place():
    seed = os.urandom(32)
    acc = np.arange(70_000, dtype=np.uint32)
    before = acc.copy()
    add_keystream(acc, seed)
    assert np.array_equal(acc, before + keystream_u32(seed, acc.size))
    add_keystream(acc, seed, sign=-1)
    assert np.array_equal(acc, before)


def test_out_buffer_is_filled_and_returned():
    out = np.zeros(10, np.uint32)
    assert keystream_u32(bytes(32), 10, out=out) is out
    assert np.array_equal(out, keystream_u32(bytes(32), 10))


@pytest.mark.parametrize("seed", [b"short", bytes(31), bytes(33), "x" * 32])
def test_seed_must_be_32_bytes(seed):
    with pytest.raises(ConfigError, match="seed"):
        keystream_u32(seed, 4)
