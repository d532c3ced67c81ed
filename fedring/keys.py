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
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from Crypto.Protocol.DH import import_x25519_private_key
from Crypto.PublicKey import ECC
from Crypto.Signature import eddsa

from fedring.errors import ConfigError, IntegrityError, UnknownKey
from fedring.layout import check_name
from fedring.policy import ATTRIBUTE_RE

PUBLIC_FORMAT = "fedring-public-keys/1"


def identity_attribute(account: str) -> str:
    """The attribute an account's authority issues to the account itself: seal "to" it."""
    return f"{account}:self"


def key_id(public: bytes) -> str:
    """A short, stable name for a public key: first 8 bytes of SHA-256, in hex."""
    return hashlib.sha256(b"fedring key id\x00" + public).hexdigest()[:16]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{what} is not valid base64") from exc


def x25519_public(private: bytes) -> bytes:
    """The raw 32-byte X25519 public key of a raw 32-byte private key."""
    return import_x25519_private_key(private).public_key().export_key(format="raw")


@dataclass(frozen=True)
class PublicKey:
    """The public half of one attribute key: what a sealer needs."""

    attribute: str
    epoch: int
    key_id: str
    public: bytes


@dataclass(frozen=True)
class AttributeKey:
    """One attribute's private X25519 key at one epoch, as issued to a holder."""

    attribute: str
    epoch: int
    private: bytes = field(repr=False)

    @classmethod
    def generate(cls, attribute: str, epoch: int) -> AttributeKey:
        return cls(attribute, epoch, ECC.generate(curve="Curve25519").seed)

    @cached_property
    def public(self) -> bytes:
        return x25519_public(self.private)

    @cached_property
    def key_id(self) -> str:
        return key_id(self.public)

    @cached_property
    def ecc(self) -> ECC.EccKey:
        """The private key as a pycryptodome object (imported once: ~0.1 ms each time)."""
        return import_x25519_private_key(self.private)

    def public_key(self) -> PublicKey:
        public = self.public
        return PublicKey(self.attribute, self.epoch, key_id(public), public)

    def to_dict(self) -> dict[str, Any]:
        return {"attribute": self.attribute, "epoch": self.epoch, "private": _b64(self.private)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AttributeKey:
        try:
            key = cls(str(data["attribute"]), int(data["epoch"]), _unb64(data["private"], "key"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"malformed attribute key: {exc}") from exc
        if not ATTRIBUTE_RE.fullmatch(key.attribute) or len(key.private) != 32:
            raise ConfigError(f"malformed attribute key for {key.attribute!r}")
        return key


class Authority:
    """An account's attribute authority: issues ``<name>:<attribute>`` keys and rotates them."""

    def __init__(self, name: str, keys: Mapping[str, AttributeKey] | None = None) -> None:
        self.name = check_name("authority", name)
        self._keys: dict[str, AttributeKey] = dict(keys or {})

    @classmethod
    def create(cls, name: str) -> Authority:
        return cls(name)

    def attribute(self, name: str) -> str:
        """The full attribute for ``name`` or ``<authority>:name``; refuses another authority's."""
        full = name if ":" in name else f"{self.name}:{name}"
        if not ATTRIBUTE_RE.fullmatch(full):
            raise ConfigError(f"bad attribute {name!r}: use lowercase letters, digits, - . _")
        if full.split(":", 1)[0] != self.name:
            raise ConfigError(f"authority {self.name!r} cannot issue {full!r}: not its attribute")
        return full

    @property
    def attributes(self) -> frozenset[str]:
        return frozenset(self._keys)

    def issue(self, attribute_name: str) -> AttributeKey:
        """The current private key of an attribute (created at epoch 1 on first issue)."""
        full = self.attribute(attribute_name)
        if full not in self._keys:
            self._keys[full] = AttributeKey.generate(full, 1)
        return self._keys[full]

    def rotate(self, attribute_name: str) -> int:
        """Replace an attribute's key pair with a fresh one at the next epoch; forget the old."""
        full = self.attribute(attribute_name)
        if full not in self._keys:
            raise UnknownKey(full, where=f"authority {self.name!r} (issue it first)")
        epoch = self._keys[full].epoch + 1
        self._keys[full] = AttributeKey.generate(full, epoch)
        return epoch

    def public_document(self) -> dict[str, Any]:
        """All current public keys, as one JSON-able document to publish."""
        attrs = {}
        for attr, key in sorted(self._keys.items()):
            pub = key.public_key()
            attrs[attr] = {"epoch": pub.epoch, "key_id": pub.key_id, "public": _b64(pub.public)}
        return {"format": PUBLIC_FORMAT, "authority": self.name, "attributes": attrs}

    def to_json(self) -> str:
        keys = [k.to_dict() for _, k in sorted(self._keys.items())]
        return json.dumps({"authority": self.name, "keys": keys}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Authority:
        try:
            data = json.loads(text)
            keys = [AttributeKey.from_dict(k) for k in data["keys"]]
            return cls(data["authority"], {k.attribute: k for k in keys})
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"malformed authority file: {exc}") from exc

    def save(self, path: str | Path) -> None:
        write_private(Path(path), self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> Authority:
        return cls.from_json(read_private(Path(path)))


class KeyRing:
    """What one holder holds: attribute keys, possibly several epochs of one attribute."""

    def __init__(self, keys: Iterable[AttributeKey] = ()) -> None:
        self._keys: dict[tuple[str, int], AttributeKey] = {}
        self._ids: dict[str, AttributeKey] = {}
        for key in keys:
            self.add(key)

    def add(self, key: AttributeKey) -> None:
        self._keys[(key.attribute, key.epoch)] = key
        self._ids[key.key_id] = key

    @property
    def attributes(self) -> frozenset[str]:
        return frozenset(attr for attr, _ in self._keys)

    def keys(self) -> list[AttributeKey]:
        return [self._keys[k] for k in sorted(self._keys)]

    def find(self, attribute: str, epoch: int, key_id: str) -> AttributeKey | None:
        """The key with exactly this attribute, epoch and key id, if held."""
        key = self._ids.get(key_id)
        return key if key is not None and (key.attribute, key.epoch) == (attribute, epoch) else None

    def to_json(self) -> str:
        return json.dumps({"keys": [k.to_dict() for k in self.keys()]})

    @classmethod
    def from_json(cls, text: str) -> KeyRing:
        try:
            return cls(AttributeKey.from_dict(k) for k in json.loads(text)["keys"])
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"malformed key ring: {exc}") from exc

    def save(self, directory: str | Path) -> None:
        """One 0600 file per key in a 0700 directory, so issuing a key adds a file."""
        root = Path(directory)
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(root, 0o700)
        for key in self.keys():
            name = f"{key.attribute.replace(':', '+')}@{key.epoch}.key.json"
            write_private(root / name, json.dumps(key.to_dict()))

    @classmethod
    def load(cls, directory: str | Path) -> KeyRing:
        root = Path(directory)
        if not root.is_dir():
            raise ConfigError(f"key ring directory {str(root)!r} does not exist (--keys)")
        return cls(
            AttributeKey.from_dict(json.loads(read_private(p)))
            for p in sorted(root.glob("*.key.json"))
        )


class PublicDirectory:
    """Current public keys per attribute, merged from authorities' documents."""

    def __init__(self, keys: Iterable[PublicKey] = ()) -> None:
        self._keys: dict[str, PublicKey] = {}
        for key in keys:
            known = self._keys.get(key.attribute)
            if known is None or key.epoch > known.epoch:
                self._keys[key.attribute] = key

    @classmethod
    def from_documents(cls, docs: Iterable[Mapping[str, Any]]) -> PublicDirectory:
        return cls(key for doc in docs for key in _document_keys(doc))

    def merge(self, other: PublicDirectory) -> PublicDirectory:
        """A new directory with both sets of keys; the higher epoch wins per attribute."""
        return PublicDirectory([*self._keys.values(), *other._keys.values()])

    @property
    def attributes(self) -> frozenset[str]:
        return frozenset(self._keys)

    def __contains__(self, attribute: object) -> bool:
        return attribute in self._keys

    def lookup(self, attribute: str) -> PublicKey:
        """The current public key of ``attribute``; UnknownKey names it if no document has it."""
        try:
            return self._keys[attribute]
        except KeyError:
            raise UnknownKey(
                attribute, where="the public directory (import its authority's public keys)"
            ) from None


def _document_keys(doc: Mapping[str, Any]) -> list[PublicKey]:
    try:
        if doc.get("format") != PUBLIC_FORMAT:
            raise ConfigError(f"not a public key document (format {doc.get('format')!r})")
        authority = check_name("authority", doc["authority"])
        keys = []
        for attr, entry in doc["attributes"].items():
            if not ATTRIBUTE_RE.fullmatch(attr) or attr.split(":", 1)[0] != authority:
                raise ConfigError(f"authority {authority!r} publishes a key for {attr!r}")
            public = _unb64(entry["public"], f"public key of {attr}")
            if len(public) != 32 or key_id(public) != entry["key_id"]:
                raise ConfigError(f"public key of {attr} does not match its key id")
            keys.append(PublicKey(attr, int(entry["epoch"]), entry["key_id"], public))
        return keys
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"malformed public key document: {exc!r}") from exc


class Identity:
    """An account's long-term keys: X25519 for encryption, Ed25519 for signatures."""

    def __init__(self, account: str, x25519: bytes, ed25519: bytes) -> None:
        self.account = check_name("account", account)
        self._x25519 = x25519
        self._signer = eddsa.new(eddsa.import_private_key(ed25519), "rfc8032")
        self._ed25519 = ed25519

    @classmethod
    def create(cls, account: str) -> Identity:
        x = ECC.generate(curve="Curve25519").seed
        return cls(account, x, ECC.generate(curve="Ed25519").seed)

    @property
    def encryption_public(self) -> bytes:
        return x25519_public(self._x25519)

    @property
    def signing_public(self) -> bytes:
        return eddsa.import_private_key(self._ed25519).public_key().export_key(format="raw")

    def sign(self, data: bytes) -> bytes:
        """A 64-byte Ed25519 (RFC 8032) signature over ``data``."""
        return self._signer.sign(data)

    @staticmethod
    def verify(public: bytes, data: bytes, signature: bytes) -> None:
        """Raise IntegrityError unless ``signature`` is ``public``'s signature over ``data``."""
        try:
            eddsa.new(eddsa.import_public_key(public), "rfc8032").verify(data, signature)
        except ValueError:
            raise IntegrityError("signature verification failed") from None

    def to_json(self) -> str:
        return json.dumps(
            {"account": self.account, "x25519": _b64(self._x25519), "ed25519": _b64(self._ed25519)}
        )

    @classmethod
    def from_json(cls, text: str) -> Identity:
        try:
            d = json.loads(text)
            return cls(d["account"], _unb64(d["x25519"], "x25519"), _unb64(d["ed25519"], "ed25519"))
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"malformed identity: {exc}") from exc

    def save(self, path: str | Path) -> None:
        write_private(Path(path), self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> Identity:
        return cls.from_json(read_private(Path(path)))


def new_account_keys(account: str) -> tuple[Authority, KeyRing]:
    """An account's authority, having issued ``<account>:self`` into the account's key ring."""
    authority = Authority.create(account)
    return authority, KeyRing([authority.issue(identity_attribute(account))])


def write_private(path: Path, text: str) -> None:
    """Write atomically to a file only the owner can read (0600, via rename)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def read_private(path: Path) -> str:
    """Read a private file; refuse it if group or others can read it (like ssh does)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(f"key file {str(path)!r} does not exist") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"key file {str(path)!r} is accessible by others (mode {stat.S_IMODE(mode):04o});"
            f" run: chmod 600 {path}"
        )
    return path.read_text("utf-8")
