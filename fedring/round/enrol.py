"""Enrol a run's accounts: each checks its own data against the workload; the host learns the sample counts.

Before a run commits anything, every account reads its data where it keeps it, as its
own workload will in the rounds (``fedring.workloads.check``: every format, schema or
label error names the account and the file), and publishes what is public anyway: its
number of training examples (the FedAvg weight n_i) and the layout of the model its
workload builds. Its counts per class and per split stay with it.

The host reads the descriptions, refuses an account whose model differs from its own
(``StateMismatch`` naming the account and the first differing tensor) and takes the
sample counts as the run's roster. An account whose data changed since the run started
is refused: the roster is frozen for the run.
"""

from __future__ import annotations

import json

from fedring.config import FederationConfig
from fedring.errors import DataError
from fedring.keys.signed import canonical
from fedring.layout import data_description
from fedring.ml.state import StateLayout
from fedring.storage import Store, host_view
from fedring.workloads.check import check_account_data
from fedring.workloads.federation import federation_workload


def describe_data(cfg: FederationConfig, store: Store) -> dict:
    """Client: check this account's data against its own workload; publish its sample count and model layout."""
    fw = federation_workload(cfg)
    report = check_account_data(fw.workload, store, prefix=fw.prefix, seed=cfg.seed)
    description = {"samples": report["splits"]["train"]["examples"], "workload": fw.name, "layout": fw.layout.describe()}
    key = data_description(cfg.run)
    if store.exists(key):
        before = json.loads(store.get(key))
        if before != description:
            raise DataError(
                f"account {store.account!r}: its data or workload changed since run {cfg.run!r} started "
                f"({before.get('samples')} training examples with workload {before.get('workload')!r} then, "
                f"{description['samples']} with {fw.name!r} now); resume with the same data or start a new run"
            )
        return description
    store.put(key, canonical(description))
    return description


def read_roster(cfg: FederationConfig) -> dict[str, int]:
    """Host: every account's published sample count, once its model is checked against the host's own."""
    fw = federation_workload(cfg)
    roster = {}
    for acct in cfg.accounts:
        found = json.loads(host_view(cfg, acct.name).get(data_description(cfg.run)))
        theirs = StateLayout.from_description(found["layout"])
        fw.layout.compare(theirs, f"account {acct.name!r} (workload {found['workload']!r} in its federation file)")
        roster[acct.name] = int(found["samples"])
    return roster
