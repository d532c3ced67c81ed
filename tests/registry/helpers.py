"""A committed secure run built from the core alone (no Prefect), for the registry tests.

What the host flow would leave behind, in seconds: every account's keys and public
documents, manifest 0 with the sealed initial model, and round 1 committed with a model
trained on a slice of MNIST, sealed to ``host:self or <participants>:self`` and evaluated
on all 10,000 test images (the accuracy the card must record).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from fedring.config import FederationConfig, build_config
from fedring.manifest import commit_round, start_run
from fedring.keys import KeyRing
from fedring.ml.data import Dataset
from fedring.ml.train import evaluate, train
from fedring.round.model import seal_model
from fedring.round.party import host_party
from fedring.round.party import ensure_keys, keys_dir
from fedring.storage import owner_store
from fedring.workloads.federation import federation_workload

ACCOUNTS = ("account-1", "account-2", "account-3")
RUN = "reg"
REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str | Path) -> int:
    from fedring.cli import main

    try:
        main([str(a) for a in args])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@dataclass
class Run:
    cfg: FederationConfig
    root: Path
    accuracy: float
    loss: float

    @property
    def storage(self) -> Path:
        return self.root / "storage"

    def keys(self, account: str) -> Path:
        return keys_dir(self.cfg, account)

    def consumer(self, name: str, *attributes: str) -> Path:
        """A key ring of an organisation that never trained, issued ``attributes`` by their authorities."""
        ring_dir = self.root / "consumers" / name
        for attr in attributes:
            authority, bare = attr.split(":", 1)
            assert run_cli("authority", "issue", bare, "-a", self.keys(authority), "--to", ring_dir) == 0
        return ring_dir

    def public(self, account: str) -> dict:
        """The authority's public document as ``fedring authority issue`` last wrote it."""
        return json.loads((self.keys(account) / "public.json").read_text())


def committed_run(root: Path, train_set: Dataset, test_set: Dataset) -> Run:
    cfg = build_config(run=RUN, accounts=[{"name": n} for n in ACCOUNTS],
                       partition={"scheme": "iid", "limit": 3000}, training={"rounds": 1},
                       storage={"kind": "local", "root": str(root / "storage")})
    for name in (cfg.host.name, *ACCOUNTS):
        ensure_keys(cfg, name, owner_store(cfg, name))
    host = host_party(cfg)
    fw = federation_workload(cfg)
    model = fw.workload.build_model(cfg.seed)
    initial = seal_model(host, fw.layout.encode(fw.initial_state()), rnd=0, participants=list(ACCOUNTS))
    manifest = start_run(host.store, cfg, {a: 1000 for a in ACCOUNTS}, initial, record={"workload": fw.describe({})})
    train(model, train_set.images[:3000], train_set.labels[:3000], epochs=1, batch_size=64,
          learning_rate=1e-3, seed=0)
    accuracy, loss = evaluate(model, test_set.images, test_set.labels)
    sealed = seal_model(host, fw.layout.encode(fw.layout.split(model.state_dict())), rnd=1, participants=list(ACCOUNTS))
    commit_round(host.store, manifest, rnd=1, model=sealed, metrics={
        "round": 1, "accuracy": accuracy, "loss": loss,
        "participants": list(ACCOUNTS), "dropped": [], "secure": True,
    })
    return Run(cfg, root, accuracy, loss)


def ring(path: Path) -> KeyRing:
    return KeyRing.load(path)


def python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
