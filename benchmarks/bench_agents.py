"""Agent mode against the embedded default: the same rounds, side by side (target: agents <= 1.25x).

Both modes run the same federation (accounts, images, seed, rounds) from the command line,
one after the other, on local storage:

- ``embedded``: ``fedring run --config F``, client stages in the host's process;
- ``agents``: one ``fedring agent`` process per account, each with a Prefect of its own
  (its own PREFECT_HOME, an ephemeral server), and ``fedring run --config F --agents``.

A round's time is what the host's manifest records (``seconds``: broadcast to commit, the
start-up of processes and Prefect excluded); the ratio compares the medians of rounds 2..R
(round 1 includes the agents' first flow runs). Prints one JSON line per mode and one
with the ratio.

    python benchmarks/bench_agents.py --accounts 3 --rounds 4 --limit 12000
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

BIN = Path(sys.executable).parent
TARGET = 1.25


def _env(home: Path, keys: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), FEDRING_KEYS=str(keys), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    home.mkdir(parents=True, exist_ok=True)
    return env


def _config(root: Path, accounts: int, rounds: int, limit: int | None) -> Path:
    doc = {
        "run": "bench-agents",
        "accounts": [{"name": f"account-{i + 1}"} for i in range(accounts)],
        "partition": {"scheme": "iid", "limit": limit},
        "training": {"rounds": rounds},
        "storage": {"kind": "local", "root": str(root / "storage")},
    }
    path = root / "federation.yaml"
    path.write_text(yaml.safe_dump(doc))
    from fedring.config import build_config
    from fedring.split import simulate_accounts

    simulate_accounts(build_config(**doc))  # each account's data in place: `fedring run` has no split step
    return path


def _rounds(root: Path) -> list[dict]:
    from fedring.config import load_config
    from fedring.manifest import latest_manifest
    from fedring.storage import host_store

    cfg = load_config(root / "federation.yaml")
    return latest_manifest(host_store(cfg), cfg.run)["committed"]


def _summary(mode: str, committed: list[dict], args: argparse.Namespace, wall: float) -> dict:
    later = committed[1:] or committed
    stages = {s: round(statistics.median(m["stage_seconds"][s] for m in later), 3) for s in later[0]["stage_seconds"]}
    return {
        "bench": "agents", "mode": mode, "accounts": args.accounts, "images": args.limit or 60000,
        "rounds": args.rounds, "round_seconds": [round(m["seconds"], 2) for m in committed],
        "median_round_seconds": round(statistics.median(m["seconds"] for m in later), 2),
        "median_stage_seconds": stages, "command_seconds": round(wall, 1),
        "final_accuracy": committed[-1]["accuracy"], "participants": committed[-1]["participants"],
    }


def embedded(root: Path, args: argparse.Namespace) -> dict:
    config = _config(root, args.accounts, args.rounds, args.limit)
    env = _env(root / "prefect-host", root / "keys")
    start = time.monotonic()
    subprocess.run([BIN / "fedring", "run", "--config", str(config), "--run-dir", str(root / "out")],
                   env=env, check=True, capture_output=True)
    return _summary("embedded", _rounds(root), args, time.monotonic() - start)


def agents(root: Path, args: argparse.Namespace) -> dict:
    config = _config(root, args.accounts, args.rounds, args.limit)
    names = [f"account-{i + 1}" for i in range(args.accounts)]
    keys = root / "keys"
    for name in ["host", *names]:  # each organisation's identity, pinned from the shared key directory
        subprocess.run([BIN / "fedring", "identity", "show", "--config", str(config), "--account", name],
                       env=_env(root / "prefect-host", keys), check=True, capture_output=True)
    procs, logs = [], []
    try:
        for name in names:
            log = open(root / f"agent-{name}.log", "w")
            logs.append(log)
            procs.append(subprocess.Popen(
                [BIN / "fedring", "agent", "--config", str(config), "--account", name, "--max-interval", str(args.max_interval)],
                env=_env(root / f"prefect-{name}", keys), stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        for name in names:  # an agent logs "watching" once its Prefect answers
            _wait(lambda n=name: "watching" in (root / f"agent-{n}.log").read_text(), f"agent {name}", 300)
        start = time.monotonic()
        subprocess.run([BIN / "fedring", "run", "--config", str(config), "--agents", "--run-dir", str(root / "out")],
                       env=_env(root / "prefect-host", keys), check=True, capture_output=True)
        wall = time.monotonic() - start
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)
        for log in logs:
            log.close()
    return _summary("agents", _rounds(root), args, wall)


def _wait(check, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready within {timeout} s")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--limit", type=int, default=12000, help="training images (0: all 60,000)")
    parser.add_argument("--max-interval", type=float, default=1.0, help="the agents' longest pause between polls")
    args = parser.parse_args()
    args.limit = args.limit or None
    rows = {}
    for mode, run in (("embedded", embedded), ("agents", agents)):
        with tempfile.TemporaryDirectory(prefix=f"fedring-bench-{mode}-") as tmp:
            rows[mode] = run(Path(tmp), args)
        print(json.dumps(rows[mode]), flush=True)
    ratio = rows["agents"]["median_round_seconds"] / rows["embedded"]["median_round_seconds"]
    print(json.dumps({"bench": "agents-ratio", "accounts": args.accounts, "images": args.limit or 60000,
                      "agents_over_embedded": round(ratio, 3), "target": TARGET, "met": ratio <= TARGET}), flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
