"""Verify a version without the attributes that open it.

Choice (see ``docs/registry.md``): the payload's AES-GCM tags cannot be checked without
the content key, so keyless verification rests on the publisher's Ed25519 signature over
the SHA-256 of the card and of the exact envelope bytes. On top of it we check what a
reader can see: the header parses (checksum), its policy and context are the card's,
and the chunk framing gives exactly the card's plaintext length. After opening,
``consume`` also checks the weights against the card's SHA-256.

The trust anchor is the verifying key: pass it (``signing_key=``, ``--signer``) to pin it;
otherwise the key recorded at ``registry/_publisher.json`` (written once, immutable) is
used, and every card must name that same key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fedring.envelope_format import TAG
from fedring.errors import FedringError, IntegrityError
from fedring.registry import catalog, signing
from fedring.registry.catalog import Version
from fedring.registry.ref import ModelRef
from fedring.storage import Store


def check_version(v: Version, signing_key: bytes) -> None:
    """Raise IntegrityError unless ``v`` is exactly what the holder of ``signing_key`` published."""
    if v.card.data.get("model") != v.model or v.card.data.get("version") != v.version:
        raise IntegrityError(f"model {v.ref}: the card names another model or version")
    if v.card.signing_key != signing_key:
        raise IntegrityError(f"model {v.ref}: the card names another publisher key than the trusted one")
    signing.check(v.signature, signing_key, v.model, v.version, v.generation, v.card.raw, v.envelope)
    header = v.header  # IntegrityError if the header does not parse
    if header.policy != v.card["envelope_policy"] or header.context != v.card["context"]:
        raise IntegrityError(f"model {v.ref}: the envelope's policy or context is not the card's")
    body, size = len(v.envelope) - header.length, header.chunk_size + TAG
    chunks = max(1, -(-body // size))
    if body - chunks * TAG != v.card["weights_bytes"]:
        raise IntegrityError(f"model {v.ref}: the envelope's length does not fit the card's weights")


def trusted_key(store: Store, signing_key: bytes | None) -> bytes:
    """The pinned key, or the one the registry recorded (must then agree with any pin)."""
    recorded = signing.registry_signing_key(store)
    if signing_key is not None and signing_key != recorded:
        raise IntegrityError("the registry's recorded publisher key is not the pinned --signer key")
    return signing_key or recorded


@dataclass
class Report:
    """What ``verify_all`` found: one line per version, ``ok`` False if any failed."""

    results: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r["ok"] for r in self.results)


def verify_all(store: Store, *, model: str | None = None, signing_key: bytes | None = None) -> Report:
    """Check every version (of ``model``, or of every model); failures are reported, not raised."""
    key = trusted_key(store, signing_key)
    report = Report()
    names = [model] if model else catalog.model_names(store)
    for name in names:
        for version in catalog.version_numbers(store, name):
            row: dict = {"model": name, "version": version}
            try:
                v = catalog.fetch(store, ModelRef(name, version))
                row["generation"] = v.generation
                check_version(v, key)
                row.update(ok=True, policy=v.card["policy"])
            except FedringError as exc:
                row.update(ok=False, error=f"{type(exc).__name__}: {exc}")
            report.results.append(row)
    return report
