"""fedring against Flower on the same workload: one job per (system, mode, setting).

Each job runs in a subprocess of its own (``python -m benchmarks.compare --spec JSON
--out FILE``), so peak memory is that system's alone and neither system's imports or
threads linger into the other's timings. The suite (``python -m benchmarks``) runs the
jobs one after another in the same invocation and computes the ratios from that run.

Figures per job (see ``summarise``):
  median_round_s   median wall seconds of rounds 2..R (round 1 carries start-up:
                   Ray for Flower, client code warm-up for both); R = 1 uses round 1
  total_s          wall seconds of the whole run, start-up included (Prefect's
                   ephemeral API server for fedring, Ray for Flower)
  final_accuracy   test accuracy (full MNIST test set) after round R
  bytes_client     bytes one client sends per round (mean over clients and rounds):
                   fedring from its manifest's ``bytes_sent``, Flower from the
                   serialized size of every reply a client sends (all SecAgg+ stages)
  host_peak_mb     peak RSS (VmHWM) of the job's main process: fedring's host with its
                   embedded accounts; Flower's driver with the ServerApp (clients run in
                   Ray worker processes)
  tree_peak_mb     peak of the summed RSS of the job process and all its descendants,
                   sampled every 0.25 s (Prefect's API server; Ray's GCS, raylet, workers)
  client_round_s   median over rounds 2..R of the seconds spent in the clients' own code
                   per round, summed over clients (fedring: ``train_seconds`` of the
                   manifest; Flower: time inside the ClientApp for every message)
  cpu_s            CPU seconds (user + system) of the job's whole process tree, by
                   process too: on a shared machine less inflated by load than wall time

Round seconds are wall clock between consecutive evaluated global models: fedring's
manifest commits (file times of ``manifest/NNNN.json``), Flower's centralized
evaluations (the ``evaluate_fn`` return times). Both include aggregation and evaluation.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

from benchmarks.peers.flower import fedring_config_kwargs

NOT_AVAILABLE = "not yet available"


# ---------------------------------------------------------------- memory


def _rss_kb(pid: int, field: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_ticks(pid: int) -> tuple[str, int]:
    """(process label, user + system clock ticks) of ``pid``; ("", 0) if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks = int(fields[11]) + int(fields[12])
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, ValueError, IndexError):
        return "", 0
    return process_label(comm, cmd), ticks


def process_label(comm: str, cmd: str) -> str:
    """A coarse name for a process of the job's tree (for CPU accounting)."""
    if "prefect.server" in cmd or "uvicorn" in cmd:
        return "prefect API server"
    if "multiprocessing.spawn" in cmd:
        return "dask workers (fedring client stages)"
    if comm.startswith("ray::") or "default_worker.py" in cmd:
        return "ray workers (Flower clients)"
    if "raylet" in comm or "gcs_server" in comm or "ray/" in cmd or "ray." in cmd:
        return "ray services"
    return comm or "other"


class TreeSampler:
    """Peak of the summed RSS of this process and its descendants, and their CPU time (Linux /proc).

    CPU time is what the machine's load cannot inflate much: on a shared machine, wall
    seconds grow with other people's work, CPU seconds far less.
    """

    def __init__(self, interval: float = 0.25) -> None:
        self.interval, self.peak_kb = interval, 0
        self._cpu: dict[int, tuple[str, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        me = os.getpid()
        pids = _descendants(me)
        total = sum(_rss_kb(p) for p in pids)
        self.peak_kb = max(self.peak_kb, total)
        for pid in pids:
            if pid == me:
                continue
            label, ticks = _cpu_ticks(pid)
            if label:
                self._cpu[pid] = (label, max(ticks, self._cpu.get(pid, ("", 0))[1]))

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds by process label; this process's own from os.times (exact)."""
        t = os.times()
        out = {"job process": t.user + t.system}
        for label, ticks in self._cpu.values():
            out[label] = out.get(label, 0.0) + ticks / CLK_TCK
        return out

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> "TreeSampler":
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


# ---------------------------------------------------------------- fedring


def prefect_env(home: Path) -> None:
    """The hermetic Prefect settings of ../shared/notes/prefect.md (ephemeral API server)."""
    os.environ["PREFECT_HOME"] = str(home)
    for var in ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE"):
        os.environ.pop(var, None)
    from fedring.cli.prefect_env import apply_server_settings

    apply_server_settings()


def run_fedring(spec: dict, workdir: Path) -> dict:
    prefect_env(workdir / "prefect-home")
    for var in ("FEDRING_WORKERS", "FEDRING_DASK_ADDRESS"):  # the spec decides where stages run
        os.environ.pop(var, None)
    import torch

    if spec.get("torch_threads"):
        torch.set_num_threads(int(spec["torch_threads"]))
    from fedring.config import build_config
    from fedring.ml.model import build_model
    from fedring.ml.weights import to_vector
    from fedring.split import simulate_accounts
    from flows.host import federated_training

    root = workdir / "storage"
    cfg = build_config(**fedring_config_kwargs(spec, root))
    t0 = time.time()
    simulate_accounts(cfg)  # the split, inside the timed start-up as before workloads
    manifest = federated_training(cfg)
    total = time.time() - t0
    committed = manifest["committed"]
    stamps = sorted(root.glob(f"*/runs/{cfg.run}/manifest/*.json"))
    times = {int(p.stem): p.stat().st_mtime for p in stamps}
    rounds = []
    for m in committed:
        r = m["round"]
        sent = m.get("bytes_sent") or {}
        rounds.append(
            {
                "round": r,
                "seconds": times[r] - times[r - 1] if r in times and r - 1 in times else m["seconds"],
                "stage_seconds_sum": m["seconds"],
                "stage_seconds": m.get("stage_seconds"),
                "accuracy": m["accuracy"],
                "loss": m["loss"],
                "bytes_per_client": sum(sent.values()) / max(len(sent), 1),
                "client_seconds": sum((m.get("train_seconds") or {}).values()),
                "train_seconds": sorted((m.get("train_seconds") or {}).values()),
                "participants": len(m.get("participants", [])),
                "dropped": len(m.get("dropped", [])),
                "secure": m.get("secure"),
            }
        )
    secure_ran = bool(committed) and all(m.get("secure") is True for m in committed)
    out = {
        "total_seconds": total,
        "startup_seconds": (times[0] - t0) if 0 in times else None,
        "rounds": rounds,
        "update_bytes": 4 * int(to_vector(build_model(cfg.seed)).size),
        "completed": len(rounds) == spec["rounds"],
    }
    if spec["mode"] == "secure" and not secure_ran:
        # The flow ran, but not secure aggregation: do not report it as the secure mode.
        out = {"unavailable": f"{NOT_AVAILABLE}: the fedring flow committed plaintext rounds with secagg.secure=True"}
    return out


# ---------------------------------------------------------------- one job


def run_job(spec: dict) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{spec['system']}-{spec['mode']}-"))
    result: dict = {"spec": spec}
    try:
        with TreeSampler() as sampler:
            if spec["system"] == "fedring":
                result.update(run_fedring(spec, workdir))
            elif spec["system"] == "flower":
                from benchmarks.peers.flower import run

                result.update(run(spec, workdir))
            else:
                raise ValueError(f"unknown system {spec['system']!r}")
        result["host_peak_mb"] = _rss_kb(os.getpid(), "VmHWM") / 1024
        result["tree_peak_mb"] = sampler.peak_kb / 1024
        result["cpu_seconds"] = sampler.cpu_seconds()
    except Exception as exc:  # reported, not hidden: the suite prints it as the job's result
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
    if "error" in result:  # kept for a look; a finished job's runs and Prefect home take up to 2 GB
        result["workdir"] = str(workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


# ---------------------------------------------------------------- figures


def _median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def summarise(result: dict) -> dict:
    """The per-job figures of the report (None where the job did not produce them)."""
    spec = result["spec"]
    row = {k: spec.get(k) for k in ("system", "mode", "scheme", "alpha", "accounts", "limit", "rounds", "at_once")}
    if result.get("unavailable") or result.get("error"):
        row["status"] = result.get("unavailable") or f"error: {result['error']}"
        return row
    rounds = result.get("rounds", [])
    later = [r["seconds"] for r in rounds if r["round"] >= 2] or [r["seconds"] for r in rounds]
    sent = [r["bytes_per_client"] for r in rounds if r.get("bytes_per_client")]
    bytes_client = sum(sent) / len(sent) if sent else None
    client = [r["client_seconds"] for r in rounds if r["round"] >= 2 and r.get("client_seconds") is not None]
    client = client or [r["client_seconds"] for r in rounds if r.get("client_seconds") is not None]
    training = [r["train_seconds"] for r in rounds if r["round"] >= 2 and r.get("train_seconds")]
    training = training or [r["train_seconds"] for r in rounds if r.get("train_seconds")]
    cpu = result.get("cpu_seconds") or {}
    row.update(
        status="ok" if result.get("completed", True) else "incomplete",
        median_round_s=_median(later),
        total_s=result.get("total_seconds"),
        startup_s=result.get("startup_seconds"),
        final_accuracy=rounds[-1]["accuracy"] if rounds else None,
        accuracy_per_round=[r["accuracy"] for r in rounds],
        seconds_per_round=[r["seconds"] for r in rounds],
        bytes_client=bytes_client,
        expansion=(bytes_client / result["update_bytes"]) if bytes_client and result.get("update_bytes") else None,
        host_peak_mb=result.get("host_peak_mb"),
        tree_peak_mb=result.get("tree_peak_mb"),
        client_round_s=_median(client),
        training_makespan_s=_median([training_makespan(t, spec.get("at_once") or 1) for t in training]),
        cpu_s=sum(cpu.values()) if cpu else None,
        cpu_by_process=cpu or None,
    )
    return row


def _workload(row: dict) -> tuple:
    return (row["scheme"], row.get("alpha") if row["scheme"] == "dirichlet" else None, row["accounts"], row["limit"], row["rounds"])


def _setting(row: dict) -> tuple:
    return (*_workload(row), row.get("at_once"))


RATIO_FIELDS = ("median_round_s", "client_round_s", "cpu_s", "total_s", "bytes_client", "expansion", "host_peak_mb", "tree_peak_mb")


def ratios(rows: list[dict]) -> list[dict]:
    """fedring/Flower for each mode and workload at equal settings (as many clients at once), same run.

    A ratio is None when either side lacks the figure (e.g. a mode not yet available).
    Accuracy is compared as a difference in percentage points, not a ratio.
    """
    by_key = {(_setting(r), r["system"], r["mode"]): r for r in rows}
    out = []
    for (setting, system, mode), fed in sorted(by_key.items(), key=lambda kv: str(kv[0])):
        if system != "fedring":
            continue
        peer = by_key.get((setting, "flower", mode))
        if peer is not None:
            out.append(_ratio(fed, peer, kind="equal settings"))
    return out


def best_ratios(rows: list[dict]) -> list[dict]:
    """fedring/Flower for each mode and workload, each system at its fastest setting of this run."""
    def speed(r: dict) -> tuple:  # a job without figures only stands in when no setting has them
        return (r.get("median_round_s") is None, r.get("median_round_s") or 0.0)

    best: dict[tuple, dict] = {}
    for r in rows:
        key = (_workload(r), r["system"], r["mode"])
        if key not in best or speed(r) < speed(best[key]):
            best[key] = r
    out = []
    for (workload, system, mode), fed in sorted(best.items(), key=lambda kv: str(kv[0])):
        peer = best.get((workload, "flower", mode))
        if system == "fedring" and peer is not None:
            out.append(_ratio(fed, peer, kind="each at its best"))
    return out


def _ratio(fed: dict, peer: dict, *, kind: str) -> dict:
    entry = {"scheme": fed["scheme"], "alpha": _workload(fed)[1], "accounts": fed["accounts"], "limit": fed["limit"],
             "rounds": fed["rounds"], "mode": fed["mode"], "kind": kind,
             "fedring_at_once": fed.get("at_once"), "flower_at_once": peer.get("at_once")}
    for field in RATIO_FIELDS:
        a, b = fed.get(field), peer.get(field)
        entry[field] = (a / b) if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None
    entry["training_floor"] = training_floor(fed, peer)
    fa, pa = fed.get("final_accuracy"), peer.get("final_accuracy")
    entry["accuracy_pp"] = 100 * (fa - pa) if isinstance(fa, float) and isinstance(pa, float) else None
    return entry


def training_makespan(seconds: list[float], workers: int) -> float:
    """A lower bound on the time ``workers`` need to run trainings of these durations.

    An account's training is one job (its SGD steps run in order), so no schedule beats
    the total over the workers, nor, for any m, the m + 1 shortest of the m·workers + 1
    longest jobs: some worker gets m + 1 of those (five equal jobs on two workers: three).
    """
    jobs = sorted(seconds, reverse=True)
    bound = sum(jobs) / workers
    for m in range((len(jobs) - 1) // workers + 1):
        top = jobs[: m * workers + 1]
        bound = max(bound, sum(top[-(m + 1):]))
    return bound


def training_floor(fed: dict, peer: dict) -> float | None:
    """The least s/round ratio fedring could reach against this peer run by training alone.

    fedring's accounts train with the loop both systems share (``fedring.ml.train``); a
    fedring whose every other step took no time would still need its accounts' training
    spread over its workers (``training_makespan_s``). It tells a target no orchestration
    can reach from one that is merely missed.
    """
    spent, peer_round = fed.get("training_makespan_s"), peer.get("median_round_s")
    if not isinstance(spent, (int, float)) or not isinstance(peer_round, (int, float)) or not peer_round:
        return None
    return spent / peer_round


TARGETS = {
    "secure_round_ratio": 0.8,  # fedring secure s/round <= 0.8 x Flower SecAgg+ at Flower's best (issue 18)
    "secure_round_accounts": (5, 10),  # ... at 5 and 10 accounts, full MNIST
    "secure_expansion_ratio": 1.05,  # fedring secure bytes/update <= 1.05 x Flower SecAgg+'s
    "accuracy_pp": 0.1,  # |final accuracy difference| <= 0.1 percentage points
}


def check_targets(ratio_rows: list[dict]) -> list[dict]:
    """Each issue target on the ratios of each system at its best, with the figure and met / missed."""
    checks = []
    for r in ratio_rows:
        if r.get("kind") != "each at its best":
            continue
        alpha = "" if r["alpha"] is None else f"({r['alpha']})"
        images = "all" if r["limit"] is None else f"{r['limit']:,}"
        where = (f"{r['scheme']}{alpha}, {r['accounts']} accounts, {images} images, {r['mode']} "
                 f"(fedring {r['fedring_at_once']} at once, Flower {r['flower_at_once']} at once)")
        if r["mode"] == "secure" and r["accounts"] in TARGETS["secure_round_accounts"] and r["limit"] is None:
            checks.append({**_check("secure s/round ratio", where, r["median_round_s"], TARGETS["secure_round_ratio"]),
                           "training_floor": r["training_floor"]})
        if r["mode"] == "secure":
            checks.append(_check("secure expansion ratio", where, r["expansion"], TARGETS["secure_expansion_ratio"]))
        checks.append(
            _check("accuracy difference (pp, absolute)", where, abs(r["accuracy_pp"]) if r["accuracy_pp"] is not None else None, TARGETS["accuracy_pp"])
        )
    return checks


def _check(name: str, where: str, value: float | None, limit: float) -> dict:
    status = NOT_AVAILABLE if value is None else ("met" if value <= limit else "missed")
    return {"target": name, "where": where, "value": value, "limit": limit, "status": status}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run one benchmark job (used by python -m benchmarks).")
    ap.add_argument("--spec", required=True, help="JSON job spec")
    ap.add_argument("--out", required=True, help="where to write the result JSON")
    args = ap.parse_args(argv)
    result = run_job(json.loads(args.spec))
    Path(args.out).write_text(json.dumps(result))
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    sys.exit(main())
