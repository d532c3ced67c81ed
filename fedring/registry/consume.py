"""Open a shared model and predict: what an authorised consumer runs, Prefect-free.

``load_model`` verifies the version's signature (no keys needed), opens the envelope
with the consumer's key ring, checks the weights against the card's SHA-256, builds the
module of the workload the card names and returns it in eval mode. A built-in workload
is built from fedring; a user's ``package.module:object`` only when the consumer names it
too (``workload=``): fedring never imports code because a card names it. Errors a
consumer can act on:

- ``PolicyNotSatisfied``: the ring lacks attributes; ``missing`` lists, per consumer
  clause, what is missing (the publisher's own ``host:self`` clause is left out);
- ``AttributeRevoked`` (a ``PolicyNotSatisfied``): the ring holds the attributes, but only
  at epochs older than the ones the version is now wrapped to;
- ``IntegrityError``: a tampered object (signature, envelope, or weights digest).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from fedring.envelope import open_bytes
from fedring.envelope_format import Header, Recipient
from fedring.errors import AttributeRevoked, ConfigError, PolicyNotSatisfied, UnknownKey
from fedring.keys import KeyRing, identity_attribute
from fedring.ml.state import StateLayout
from fedring.ml.train import to_tensor
from fedring.registry import catalog
from fedring.registry.card import Card
from fedring.registry.ref import ModelRef
from fedring.registry.verify import check_version, trusted_key
from fedring.storage import Store


@dataclass(frozen=True)
class SharedModel:
    """An opened registry version: the network (eval mode), its card and where it came from."""

    module: nn.Module
    card: Card
    model: str
    version: int
    generation: int


def _consumer_clauses(header: Header, publisher: str) -> list[tuple[Recipient, ...]]:
    """The policy's clauses without the publisher's own ``<host>:self`` (not the consumer's concern)."""
    own = identity_attribute(publisher)
    return [c for c in header.clauses if [r.attribute for r in c] != [own]] or list(header.clauses)


def _refusal(ring: KeyRing, header: Header, publisher: str, policy: str) -> PolicyNotSatisfied:
    """The error to show a consumer who cannot open: missing attributes, or revoked epochs."""
    clauses = _consumer_clauses(header, publisher)
    missing = [sorted({r.attribute for r in c if ring.find(r.attribute, r.epoch, r.key_id) is None}) for c in clauses]
    stale: dict[str, list[int]] = {}
    for clause in clauses:
        for r in clause:
            older = [k.epoch for k in ring.keys() if k.attribute == r.attribute and k.epoch < r.epoch]
            if older and ring.find(r.attribute, r.epoch, r.key_id) is None:
                stale[r.attribute] = older
    if stale:
        return AttributeRevoked(policy, missing, stale)
    return PolicyNotSatisfied(policy, missing)


def open_weights(store: Store, ref: ModelRef, ring: KeyRing, *, signing_key: bytes | None = None) -> tuple[bytes, catalog.Version]:
    """The verified plaintext weights (the encoded model state) of a version, and the version as fetched."""
    v = catalog.fetch(store, ref)
    check_version(v, trusted_key(store, signing_key))
    try:
        weights = open_bytes(ring, v.envelope, context=v.card["context"])
    except (PolicyNotSatisfied, UnknownKey) as exc:
        refusal = _refusal(ring, v.header, v.card["publisher"]["account"], v.card["policy"])
        if isinstance(exc, UnknownKey) and not isinstance(refusal, AttributeRevoked):
            raise
        raise refusal from None
    v.card.check_weights(weights)
    return bytes(weights), v


def build_module(card: Card, weights: bytes, *, workload: str | None = None) -> nn.Module:
    """The module of the workload ``card`` names, holding ``weights``, in eval mode.

    ``workload``: the consumer's own go-ahead to import a user's workload package; it must
    be the entry point the card names.
    """
    from fedring.workloads import BUILTINS, resolve_workload

    named = card["workload"]
    name = named["name"]
    if name not in BUILTINS and workload != name:
        raise ConfigError(
            f"model {card['model']}:{card['version']} was trained with the workload {name!r} (a user's package); "
            f"fedring imports no code a card names: install that package and call "
            f"fedring.registry.load_model(..., workload={name!r})"
        )
    module = resolve_workload(name, named.get("options") or {}).build_model(0)
    layout = StateLayout.from_description(card["layout"])
    who = f"model {card['model']}:{card['version']} (workload {name!r})"
    return layout.load_into(module, layout.decode(weights), who=who).eval()


def load_model(store: Store, model: str | ModelRef, keys: KeyRing | str | Path, *,
               signing_key: bytes | None = None, workload: str | None = None) -> SharedModel:
    """Load ``NAME[:VERSION]`` from the registry in ``store`` as a ``torch.nn.Module``.

    ``keys`` is a ``KeyRing`` or the directory of one (``fedring authority issue --to DIR``);
    ``workload`` names a user's workload package the card names (see ``build_module``).
    """
    ref = ModelRef.parse(model) if isinstance(model, str) else model
    ring = keys if isinstance(keys, KeyRing) else KeyRing.load(keys)
    weights, v = open_weights(store, ref, ring, signing_key=signing_key)
    module = build_module(v.card, weights, workload=workload)
    return SharedModel(module, v.card, v.model, v.version, v.generation)


DIGIT_WORKLOADS = ("mnist", "resnet18-mnist")  # the built-ins that read 28x28 digits, which ``predict`` takes


@torch.no_grad()
def predict(module: nn.Module, images: np.ndarray, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """(digits, probabilities) for uint8 images [N, 28, 28] (white digit on black, as MNIST)."""
    module.eval()
    x = to_tensor(images)
    digits, probs = [], []
    for i in range(0, len(x), batch_size):
        p = torch.softmax(module(x[i: i + batch_size]), dim=1)
        best = p.max(dim=1)
        digits.append(best.indices.numpy())
        probs.append(best.values.numpy())
    if not digits:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    return np.concatenate(digits), np.concatenate(probs)
