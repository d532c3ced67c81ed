"""Stage records: what each client stage of a round decided, kept by the host.

The host writes one immutable record per (round, stage, name) before the round acts on
the decision (``flows/dispatch.py``, ``RecordBook``). A rerun of the round reads them
instead of dispatching the stage again, so the round replays the same decisions (who
dropped, where the ring was re-routed) and never counts an update twice or mixes two
attempts. A record is written once: a rerun that decides again adopts the one that stands.
"""

from __future__ import annotations

import json

from fedring.layout import stage_record
from fedring.storage import Store


def read_record(store: Store, run: str, rnd: int, stage: str, name: str) -> dict | None:
    key = stage_record(run, rnd, stage, name)
    return json.loads(store.get(key)) if store.exists(key) else None


def write_record(store: Store, run: str, rnd: int, stage: str, name: str, record: dict) -> dict:
    """Record ``record`` unless a record is there already; returns the one that stands."""
    data = json.dumps(record, sort_keys=True).encode()
    return json.loads(store.put_once(stage_record(run, rnd, stage, name), data))
