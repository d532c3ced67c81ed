"""The model card: what a consumer may know about a shared model without opening it.

A card is canonical JSON (sorted keys), written once per version and never changed.
It is covered by the version's signature, and its ``weights_sha256`` is checked after
every open, so a card cannot be swapped for a flattering one unnoticed. It names the
workload the model was trained with (name, options) and the layout of its state (every
tensor's name, shape and dtype), so that a consumer rebuilds the right module; the
weights are that state in its compact form (``fedring.ml.state``). Building a card
imports no torch: ``fedring models list/show/verify`` stay light.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from fedring.errors import ConfigError, IntegrityError
from fedring.report import federated_evaluations

CARD_FORMAT = "fedring-model-card/2"
CONTENT_TYPE = "application/x-fedring-model-state"  # fedring.ml.state: b"FRS1", layout digest, float32 and int64


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def envelope_context(model: str, version: int) -> dict[str, str | int]:
    """Binds an envelope to its place: moved to another model or version, it fails to open."""
    return {"registry": model, "version": version, "stage": "share"}


def _number(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def round_metrics(committed: list[dict], upto: int, test_images: int | None) -> list[dict]:
    """Per round up to ``upto``: accuracy and loss on the host's test set (None without one) and federated."""
    out = []
    for m, federated in zip(committed, federated_evaluations(committed)):
        if int(m["round"]) > upto:
            continue
        out.append({
            "round": int(m["round"]),
            "accuracy": _number(m.get("accuracy")),
            "loss": _number(m.get("loss")),
            "test_images": test_images if m.get("accuracy") is not None else None,
            "federated_accuracy": _number(federated.get("accuracy")),
            "federated_loss": _number(federated.get("loss")),
            "federated_examples": federated.get("examples"),
            "participants": len(m.get("participants", [])),
        })
    return out


def build_card(
    *,
    model: str,
    version: int,
    manifest: dict,
    rnd: int,
    weights: bytes,
    policy: str,
    envelope_policy: str,
    publisher: str,
    signing_key: bytes,
    source: str,
    now: float | None = None,
) -> dict:
    """The card of ``version``, from the run's manifest and the plaintext weights."""
    committed = manifest.get("committed", [])
    if not 1 <= rnd <= len(committed):
        raise ConfigError(f"--round {rnd}: run {manifest.get('run')!r} has {len(committed)} committed rounds")
    workload = manifest.get("workload")
    if not isinstance(workload, dict) or "layout" not in workload:
        raise ConfigError(f"run {manifest.get('run')!r} records no workload and model layout (a run from before "
                          "workloads): train it again to share it")
    config = manifest.get("config", {})
    eval_limit = config.get("training", {}).get("eval_limit")
    metrics = round_metrics(committed, rnd, eval_limit or 10_000)
    accounts = sorted({a for m in committed[:rnd] for a in m.get("participants", [])})
    return {
        "format": CARD_FORMAT,
        "model": model,
        "version": version,
        "workload": {"name": workload["name"], "options": workload.get("options", {})},
        "layout": workload["layout"],
        "weights_bytes": len(weights),
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
        "content_type": CONTENT_TYPE,
        "run": manifest.get("run"),
        "round": rnd,
        "rounds": rnd,
        "source": source,
        "accounts": len(accounts),
        "partition": config.get("partition", {}),
        "secure_aggregation": bool(config.get("secagg", {}).get("secure", True)),
        "metrics": metrics,
        "accuracy": metrics[-1]["accuracy"],
        "loss": metrics[-1]["loss"],
        "federated_accuracy": metrics[-1]["federated_accuracy"],
        "policy": policy,
        "envelope_policy": envelope_policy,
        "context": envelope_context(model, version),
        "publisher": {"account": publisher, "signing_key": signing_key.hex()},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
    }


@dataclass(frozen=True)
class Card:
    """A parsed card; ``raw`` is the exact stored bytes (what the signature covers)."""

    data: dict
    raw: bytes

    @classmethod
    def parse(cls, raw: bytes, *, where: str = "card") -> Card:
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise IntegrityError(f"{where} is not valid JSON (tampered or truncated)") from None
        if not isinstance(data, dict) or data.get("format") != CARD_FORMAT:
            raise IntegrityError(f"{where} is not a {CARD_FORMAT} document")
        return cls(data, raw)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    @property
    def signing_key(self) -> bytes:
        return bytes.fromhex(self.data["publisher"]["signing_key"])

    def check_weights(self, weights: bytes | bytearray) -> None:
        """Raise IntegrityError unless the opened weights are the ones the card describes."""
        if len(weights) != self.data["weights_bytes"] or hashlib.sha256(weights).hexdigest() != self.data["weights_sha256"]:
            raise IntegrityError(
                f"model {self.data['model']}:{self.data['version']}: the opened weights do not match the "
                "card's SHA-256 (tampered registry object)"
            )
