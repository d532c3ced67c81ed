"""Stage records: what each client stage of a round did, kept by the host.

The host writes one immutable record per (round, stage, account) as soon as the stage
ends, successfully or not. A rerun of the round reads them instead of dispatching the
stage again, so the round replays the same decisions (who dropped, where the ring
was re-routed) and never counts an update twice or mixes two attempts.
"""

from __future__ import annotations

import json

from fedring.layout import stage_record
from fedring.storage import Store


def read_record(store: Store, run: str, rnd: int, stage: str, name: str) -> dict | None:
    key = stage_record(run, rnd, stage, name)
    return json.loads(store.get(key)) if store.exists(key) else None


def write_record(store: Store, run: str, rnd: int, stage: str, name: str, *, ok: bool, result: dict, error: str = "") -> dict:
    record = {"ok": ok, "result": result, "error": error}
    store.put(stage_record(run, rnd, stage, name), json.dumps(record, sort_keys=True).encode())
    return record
