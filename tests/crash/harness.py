"""The crash-injection harness: run ``fedring run`` in a subprocess with a planted fault, then judge it.

A *place* is one run's federation file, storage and key directory. ``run_cli`` starts
``python -m tests.crash.bootstrap run --config ...`` (``tests/crash/bootstrap.py`` plants
the fault) against a Prefect server the caller shares between runs, and returns the exit
code, output and the run's trace of object writes. ``outcome`` reads what a run committed:
per round, the SHA-256 of the plaintext model (the committed object is sealed with fresh
randomness, so only the opened weights can match bit for bit between runs), the
participants and the dropped. ``unreadable`` reads back every object of every bucket.
``kinds`` names each write by what it is (``client private/contribute/masked``,
``host manifest r``...), so a subset can cover every kind of write.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fedring.config import FederationConfig, build_config
from fedring.errors import FedringError

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = ("alpha", "beta", "gamma")
# The federated evaluation sum on (MNIST's default is off): its writes are kill points too.
DATA = {"partition": {"scheme": "iid", "limit": 300}, "training": {"rounds": 2, "eval_limit": 100},
        "workload": {"name": "mnist", "federated_evaluation": True}}


@dataclass
class Place:
    """One run's federation file, storage and key directory; ``env``: what its processes add."""

    base: Path
    config: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        self.path.write_text(yaml.safe_dump(self.config))

    @property
    def path(self) -> Path:
        return self.base / "federation.yaml"

    @property
    def cfg(self) -> FederationConfig:
        return build_config(**self.config)

    @property
    def run(self) -> str:
        return self.config["run"]


def local_place(base: Path, *, run: str = "crash", secure: bool = True) -> Place:
    """Three accounts on LocalStore under ``base``, 300 images, 2 rounds, 100 test images.

    Each account's data is in place before the run (the demo's simulation step, outside
    the traced process): ``fedring run`` has no split step.
    """
    config = {
        "run": run,
        "seed": 0,
        "accounts": [{"name": a} for a in ACCOUNTS],
        **DATA,
        "secagg": {"secure": secure},
        "storage": {"kind": "local", "root": str(base / "storage")},
    }
    return _with_data(Place(base, config))


def _with_data(place: Place) -> Place:
    from fedring.split import simulate_accounts

    with _environ(place.env):
        simulate_accounts(place.cfg)
    return place


def s3_place(base: Path, fed: Any, *, run: str, keys: Path, secure: bool = True) -> Place:
    """The same run on the S3 federation ``fed`` of ``tests/s3/conftest.py`` (Ceph radosgw).

    Its buckets are shared by every run of the session, so a run after the first finds the
    partitions and (with the same ``keys`` directory) the public keys already there.
    """
    cfg = fed.cfg.model_copy(update={"run": run})
    config = {**cfg.model_dump(mode="json", exclude_none=True), **DATA, "secagg": {"secure": secure}}
    env = {"FEDRING_KEYS": str(keys)}
    for name, principal in fed.server.principals.items():
        prefix = f"FEDRING_{name.upper().replace('-', '_')}"
        env |= {f"{prefix}_ACCESS_KEY_ID": principal.access_key, f"{prefix}_SECRET_ACCESS_KEY": principal.secret_key}
    return _with_data(Place(base, config, env))


@dataclass
class Result:
    code: int
    out: str
    trace: list[dict[str, Any]]
    seconds: float

    def tail(self) -> str:
        return self.out[-4000:]


def run_cli(place: Place, server_env: dict[str, str], spec: dict[str, Any] | None = None, *,
            timeout: float = 1200, label: str = "run") -> Result:
    """``fedring run`` on ``place`` under fault plan ``spec`` (see bootstrap.py); waits for its end."""
    proc = launch(place, server_env, spec, label=label)
    start = time.monotonic()
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return Result(proc.returncode, out, read_trace(place, label), time.monotonic() - start)


def launch(place: Place, server_env: dict[str, str], spec: dict[str, Any] | None = None, *,
           label: str = "run") -> subprocess.Popen[str]:
    trace = place.base / f"trace-{label}.jsonl"
    trace.unlink(missing_ok=True)
    env = {**server_env, **place.env, "FEDRING_CRASH": json.dumps({**(spec or {}), "trace": str(trace)})}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.crash.bootstrap", "run", "--config", str(place.path),
         "--run-dir", str(place.base / "out")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=_as_from_a_terminal,
    )


def _as_from_a_terminal() -> None:
    """Ctrl-C reaches the command even when the tests run in the background (where SIGINT is ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def read_trace(place: Place, label: str) -> list[dict[str, Any]]:
    path = place.base / f"trace-{label}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@contextmanager
def _environ(extra: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def outcome(place: Place) -> dict[str, Any]:
    """What the run committed: per round (0 = initial) the plaintext model's SHA-256; participants, dropped."""
    from fedring.layout import round_model
    from fedring.manifest import latest_manifest
    from fedring.storage import host_store

    cfg = place.cfg
    with _environ(place.env):
        store = host_store(cfg)
        manifest = latest_manifest(store, cfg.run)
        committed = manifest["committed"] if manifest else []
        models = []
        for rnd in range(len(committed) + (1 if manifest else 0)):
            blob = store.get(round_model(cfg.run, rnd))
            if cfg.secagg.secure:
                from fedring.round.model import open_model
                from fedring.round.party import host_party

                blob = open_model(host_party(cfg), blob, rnd=rnd, host=cfg.host.name)
            models.append(hashlib.sha256(blob).hexdigest())  # the workload's encoded state
    return {
        "models": models,
        "participants": [m["participants"] for m in committed],
        "dropped": [m["dropped"] for m in committed],
        # the federated evaluations' totals: the last round's own sum, the others carried by the next round
        "federated": [(m.get("federated"), m.get("federated_previous")) for m in committed],
    }


def unreadable(place: Place) -> list[str]:
    """Every object of the federation's buckets that this run or no run owns and that does not read back.

    Objects of other runs are left out: the S3 tests share their buckets between runs,
    and reading every earlier run's objects again made each test slower than the last.
    """
    from fedring.layout import INBOX, OUTBOX, PRIVATE, run_prefix
    from fedring.storage import owner_store

    cfg = place.cfg
    mine = (f"{INBOX}{cfg.run}/", f"{OUTBOX}{cfg.run}/", f"{PRIVATE}{cfg.run}/", run_prefix(cfg.run))
    scoped = tuple(prefix.removesuffix(f"{cfg.run}/") for prefix in mine)  # where every run has a folder
    bad = []
    with _environ(place.env):
        for name in [cfg.host.name, *(a.name for a in cfg.accounts)]:
            store = owner_store(cfg, name)
            for key in store.list(""):
                if key.startswith(scoped) and not key.startswith(mine):
                    continue  # another run's
                try:
                    store.get(key)
                except FedringError as exc:
                    bad.append(f"{name}/{key}: {exc}")
    return bad


def kind(write: dict[str, Any], *, run: str, accounts: tuple[str, ...] = ACCOUNTS, host: str = "host") -> str:
    """What a write is, without run, round (other than 0) and account names."""
    key = write["key"]
    who = "host" if write["bucket"].endswith(host) else "client"
    key = key.replace(f"/{run}/", "/<run>/")
    key = re.sub(r"/(?!0000/)\d{4}(?=/)", "/<r>", key)
    key = re.sub(r"/(?!0000-)\d{4}-(eval|stats)(?=/)", r"/<r>-\1", key)  # a sum without training
    key = re.sub(r"/manifest/(?!0000)\d{4}\.json$", "/manifest/<r>.json", key)
    key = re.sub(r"public/keys/.*", "public/keys/*", key)
    for name in (*accounts, host):
        key = re.sub(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])", "<a>", key)
    return f"{who} {key}"


def kinds_of(trace: list[dict[str, Any]], place: Place) -> list[str]:
    """The kind of each write of a run at ``place``.

    Runs of one federation write the same kinds in the same order, but not the same keys:
    public-key documents are named after fresh keys, and the ring order is seeded by the
    round keys each run draws.
    """
    cfg = place.cfg
    names = {"run": cfg.run, "host": cfg.host.name, "accounts": tuple(a.name for a in cfg.accounts)}
    return [kind(w, **names) for w in trace]


@dataclass
class Reference:
    """An uninterrupted run: its trace of writes and what it committed."""

    place: Place
    trace: list[dict[str, Any]]
    outcome: dict[str, Any]

    def kinds(self) -> dict[str, int]:
        """Kind -> the index (1-based) of its first write."""
        found: dict[str, int] = {}
        for n, what in enumerate(kinds_of(self.trace, self.place), start=1):
            found.setdefault(what, n)
        return found

    def kind_of_point(self, n: int) -> str:
        """The kind of the run's ``n``-th write (1-based)."""
        return kinds_of(self.trace[n - 1 : n], self.place)[0]

    def point(self, what: str) -> int:
        """The write to kill after: the first of kind ``what``, or the run's ``last write``."""
        return len(self.trace) if what == "last write" else self.kinds()[what]

    def planned_faults(self, every: int, phase: int) -> list[str]:
        """The kinds of the writes a ``fail_every``/``fail_phase`` plan fails: one rank class of keys, in order."""
        first = {}
        for write, what in zip(self.trace, kinds_of(self.trace, self.place), strict=True):
            first.setdefault((write["bucket"], write["key"]), what)
        return [what for rank, what in enumerate(first.values()) if rank % every == phase]


def reference_run(place: Place, server_env: dict[str, str], spec: dict[str, Any] | None = None) -> Reference:
    result = run_cli(place, server_env, spec, label="reference")
    if result.code != 0:
        raise AssertionError(f"the uninterrupted run failed ({result.code}): {result.tail()}")
    return Reference(place, result.trace, outcome(place))
