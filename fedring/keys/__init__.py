"""Keys: attribute authorities, holders' key rings, public directories, account identities.

There is no central authority. Each account runs an ``Authority`` that issues
attributes named ``<account>:<name>``: for each attribute it keeps one X25519
key pair per epoch and hands the private key to holders (``issue``). Holders keep
what they were issued in a ``KeyRing``. Sealers only need the public half, which
an authority exports as one JSON document; a ``PublicDirectory`` merges those
documents and refuses a document that speaks for another authority's attributes.

Revocation is rotation: ``rotate`` makes a fresh key pair with the next epoch and
forgets the old private key, so new envelopes need the new epoch; re-issue the
attribute to the holders who keep it, and ``envelope.rewrap`` old envelopes.

Private material on disk is JSON in files created with mode 0600 (directories
0700), written atomically; loading refuses files that others can read.

Modules, one idea each: ``attributes`` (attribute keys and their public halves),
``authority``, ``keyring``, ``directory``, ``identity`` (Ed25519 / X25519 account
identity), ``files`` (the private JSON files).
"""

from fedring.keys.attributes import AttributeKey, PublicKey, identity_attribute, key_id, x25519_public
from fedring.keys.authority import Authority, new_account_keys
from fedring.keys.directory import PUBLIC_FORMAT, PublicDirectory
from fedring.keys.files import read_private, write_private
from fedring.keys.identity import Identity
from fedring.keys.keyring import KeyRing

__all__ = [
    "PUBLIC_FORMAT",
    "AttributeKey",
    "Authority",
    "Identity",
    "KeyRing",
    "PublicDirectory",
    "PublicKey",
    "identity_attribute",
    "key_id",
    "new_account_keys",
    "read_private",
    "write_private",
    "x25519_public",
]
