"""Reading the registry without keys: which models and versions exist, and their objects.

Everything here works with read access to ``registry/`` alone: a consumer that holds no
attribute can list, show and verify, and download the envelope bytes (it cannot open them).
A version exists once its card is written (the last write of a publish); a version
directory without a card is an interrupted publish and is skipped, but its number is
never reused.
"""

from __future__ import annotations

from dataclasses import dataclass

from fedring.envelope import read_header_bytes
from fedring.envelope_format import Header
from fedring.errors import ObjectNotFound
from fedring.layout import registry_prefix
from fedring import layout
from fedring.registry.card import Card
from fedring.registry.ref import ModelRef
from fedring.storage import Store


def model_names(store: Store) -> list[str]:
    """Names of the models that have at least one published version."""
    names = set()
    for key in store.list(layout.REGISTRY):
        parsed = layout.parse_version_key(key)
        if parsed and key.endswith("/card.json"):
            names.add(parsed[0])
    return sorted(names)


def version_numbers(store: Store, model: str, *, complete: bool = True) -> list[int]:
    """Published versions of ``model`` (``complete=False``: every version directory)."""
    found = set()
    for key in store.list(registry_prefix(model)):
        parsed = layout.parse_version_key(key)
        if parsed and parsed[0] == model and (not complete or key.endswith("/card.json")):
            found.add(parsed[1])
    return sorted(found)


def resolve(store: Store, ref: ModelRef) -> int:
    """The version ``ref`` names (its latest if none); ObjectNotFound says what exists."""
    versions = version_numbers(store, ref.name)
    if not versions:
        raise ObjectNotFound(f"no model {ref.name!r} in the registry at {store.where(layout.REGISTRY)}")
    if ref.version is None:
        return versions[-1]
    if ref.version not in versions:
        raise ObjectNotFound(f"model {ref.name!r} has no version {ref.version}; versions: {versions}")
    return ref.version


@dataclass(frozen=True)
class Version:
    """One version as stored: its card, current envelope generation and the envelope bytes."""

    model: str
    version: int
    card: Card
    generation: int
    envelope: bytes
    signature: bytes

    @property
    def header(self) -> Header:
        """The envelope's header (checksum-checked, not authenticated: no keys)."""
        return read_header_bytes(self.envelope)

    @property
    def ref(self) -> str:
        return f"{self.model}:{self.version}"


def _signed_generation(store: Store, model: str, version: int) -> int | None:
    """The highest generation that has both an envelope and its signature (None: none has)."""
    keys = store.list(layout.version_prefix(model, version))
    return max(set(layout.generations(keys, "model")) & set(layout.generations(keys, "signature")), default=None)


def current_generation(store: Store, model: str, version: int) -> int:
    """The highest generation that has both an envelope and its signature."""
    generation = _signed_generation(store, model, version)
    if generation is None:
        raise ObjectNotFound(f"model {model}:{version} has no signed envelope at {store.where(layout.version_prefix(model, version))}")
    return generation


def fetch(store: Store, ref: ModelRef) -> Version:
    """Download a version's card, current envelope and signature (no keys needed)."""
    version = resolve(store, ref)
    card_key = layout.card(ref.name, version)
    card = Card.parse(store.get(card_key), where=store.where(card_key))
    generation = current_generation(store, ref.name, version)
    return Version(
        ref.name,
        version,
        card,
        generation,
        store.get(layout.envelope(ref.name, version, generation)),
        store.get(layout.signature(ref.name, version, generation)),
    )


def show(store: Store, ref: ModelRef) -> dict:
    """The card of a version, plus where its current envelope is and what guards it."""
    v = fetch(store, ref)
    header = v.header
    return {
        **v.card.data,
        "generation": v.generation,
        "envelope_bytes": len(v.envelope),
        "recipients": [[f"{r.attribute}@{r.epoch}" for r in clause] for clause in header.clauses],
    }


def listing(store: Store) -> list[dict]:
    """One row per version: model, version, policy, accuracies (host test set, federated), run, round, created, generation.

    Reads only the key listing and the cards (no envelope bytes), so it stays cheap on S3;
    ``show`` adds the epochs each version is currently wrapped to.
    """
    rows = []
    for name in model_names(store):
        for version in version_numbers(store, name):
            card = Card.parse(store.get(layout.card(name, version)), where=store.where(layout.card(name, version)))
            rows.append({**{k: card.data.get(k) for k in ("model", "version", "policy", "envelope_policy", "accuracy",
                                                          "run", "round", "created")},
                         "generation": _signed_generation(store, name, version)})
    return rows
