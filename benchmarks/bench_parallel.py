"""Client stages in worker processes (issue 18): speed-up, a competing process, orchestration, scale.

Each run is fedring's host flow in a subprocess of its own (peak memory is that run's),
on real MNIST, secure unless said otherwise; the sections run their runs back to back
and print one JSON line per run and one per comparison, with the settings and ratios.

    python benchmarks/bench_parallel.py                       # workers compete orchestration scale
    python benchmarks/bench_parallel.py --only workers --accounts 5 --limit 0 --rounds 3
    python benchmarks/bench_parallel.py --only scale --scale-accounts 1000 --scale-per-account 60 \
        --degree 40 --rings 4 --threshold 27          # bench_secagg.py --only flows

Sections (targets of issue 18, on a quiet 2-core machine):
  workers       contribute-stage seconds with one worker process (all cores) and with one
                per core (one thread each): ratio >= 1.7. ``most_possible`` is the ratio if
                a second torch thread gained nothing and nothing but training took time:
                an account trains as one job, so n equal accounts take ceil(n / cores)
                trainings' time (5 accounts on 2 cores: 5/3). torch's own gain s from its
                second thread divides it further (benchmarks/bench_threads.py)
  light         round seconds and the light stages' (advertise, share-keys, consistency,
                reveal) with those stages in the workers against in the host: reported
  compete       round seconds at the default setting, quiet and with one CPU-bound process
                beside it (a busy loop, started and stopped here): ratio <= 1.7
  orchestration share of the round's wall time during which no process (host or worker)
                runs fedring's own work (bench_round.CORE, timed in every process): <= 5%
  scale         100 accounts x 600 images: a round's seconds, the host's peak RSS and the
                peak of all processes (host, workers, Prefect server). 1,023 is the most a
                secure federation holds (the round's model is sealed to the host and every
                participant, and an envelope holds 1,024 clauses: fedring.policy)
s/round is the median of rounds 2..R (round 1 includes worker start-up); R = 1 uses it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGETS = {"contribute_speedup": 1.7, "competing_slowdown": 1.7, "orchestration_share": 0.05}


def emit(obj: dict) -> None:
    print(json.dumps(obj, default=str), flush=True)


# ---------------------------------------------------------------- one run (in a subprocess)


def run(spec: dict) -> dict:
    """One federated training as ``spec`` says, in a directory removed afterwards (runs take up to 2 GB)."""
    with tempfile.TemporaryDirectory(prefix="bench-parallel-", ignore_cleanup_errors=True) as home:
        return _run(spec, Path(home))


def _run(spec: dict, home: Path) -> dict:
    """Timings per round and stage, memory, core coverage."""
    os.environ["PREFECT_HOME"] = str(home / "prefect")
    for var in ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE", "FEDRING_WORKERS", "FEDRING_DASK_ADDRESS"):
        os.environ.pop(var, None)
    from fedring.cli.prefect_env import apply_server_settings

    apply_server_settings()
    from benchmarks.compare import TreeSampler, _rss_kb
    from fedring.config import build_config
    from flows.host import federated_training

    n, per = spec["accounts"], spec.get("per_account")
    cfg = build_config(
        run="bench", seed=spec.get("seed", 0),
        accounts=[{"name": f"account-{i + 1}"} for i in range(n)],
        partition={"scheme": "iid", "limit": n * per if per else None},
        training={"rounds": spec["rounds"]},
        secagg={"secure": spec.get("secure", True), "degree": spec.get("degree"), "rings": spec.get("rings", 1),
                "threshold": spec.get("threshold")},
        storage={"root": str(home / "storage")},
        execution={"workers": spec["workers"], "threads": spec.get("threads")},
    )
    clock = spec.get("core_clock")
    if "light_in_host" in spec:  # the light stages' rule of flows/dispatch.py, for a side-by-side run
        import flows.dispatch

        flows.dispatch.LIGHT_IN_HOST_UP_TO = spec["light_in_host"]
    from fedring.split import simulate_accounts

    simulate_accounts(cfg)  # each account's data in place: `fedring run` has no split step
    with TreeSampler() as sampler:
        if clock:
            manifest, spans = _with_core_clock(cfg, federated_training)
        else:
            manifest, spans = federated_training(cfg), []
    committed = manifest["committed"]
    stamps = {int(p.stem): p.stat().st_mtime for p in (home / "storage").glob("*/runs/bench/manifest/*.json")}
    rounds = []
    for m in committed:
        r = m["round"]
        start, end = stamps.get(r - 1), stamps.get(r)
        row = {"round": r, "seconds": end - start if start and end else m["seconds"], "stage_seconds": m["stage_seconds"],
               "accuracy": m["accuracy"]}
        if clock and start and end:
            from benchmarks.core_clock import covered

            row["core_covered_s"] = covered(spans, start, end)
        rounds.append(row)
    return {"spec": spec, "rounds": rounds, "host_peak_mb": _rss_kb(os.getpid(), "VmHWM") / 1024,
            "tree_peak_mb": sampler.peak_kb / 1024}


def _with_core_clock(cfg, federated_training):
    """Train on a local cluster started here with the core clock in every worker (and here)."""
    from distributed import Client

    from benchmarks import core_clock
    from flows.execution import ADDRESS_ENV, _local_cluster, resolve, stage_threads

    settings = resolve(cfg.execution, len(cfg.accounts))
    core_clock.install()
    with _local_cluster(settings.workers, settings.threads or stage_threads(settings.workers)) as cluster, \
            Client(cluster) as client:
        client.register_plugin(core_clock.CoreClock())
        os.environ[ADDRESS_ENV] = cluster.scheduler_address  # the same stages, on this cluster
        manifest = federated_training(cfg)
        spans = core_clock.intervals() + [s for worker in client.run(core_clock.intervals).values() for s in worker]
    return manifest, spans


def spawn(spec: dict, timeout: int) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p))
    proc = subprocess.run([sys.executable, __file__, "--job", json.dumps(spec)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {"spec": spec, "error": f"exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:] or ''}"}


def later(result: dict, key) -> float | None:
    rows = result.get("rounds") or []
    xs = [key(r) for r in rows if r["round"] >= 2] or [key(r) for r in rows]
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summary(section: str, result: dict) -> dict:
    out = {"bench": "parallel", "section": section, **{k: v for k, v in result["spec"].items() if k != "core_clock"}}
    if "error" in result:
        return {**out, "error": result["error"]}
    return {**out, "round_s": later(result, lambda r: r["seconds"]),
            "contribute_s": later(result, lambda r: r["stage_seconds"].get("contribute")),
            "light_s": later(result, lambda r: sum(r["stage_seconds"].get(s, 0) for s in LIGHT)),
            "final_accuracy": result["rounds"][-1]["accuracy"], "host_peak_mb": round(result["host_peak_mb"]),
            "tree_peak_mb": round(result["tree_peak_mb"]), "seconds_per_round": [round(r["seconds"], 2) for r in result["rounds"]],
            **({"core_share": later(result, lambda r: r.get("core_covered_s") and r["core_covered_s"] / r["seconds"])}
               if result["spec"].get("core_clock") else {})}


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


# ---------------------------------------------------------------- sections


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def section_workers(args, base: dict) -> None:
    one = summary("workers", spawn({**base, "workers": 1, "threads": cores()}, args.timeout))
    many = summary("workers", spawn({**base, "workers": cores(), "threads": 1}, args.timeout))
    emit(one), emit(many)
    value = ratio(one.get("contribute_s"), many.get("contribute_s"))
    emit({"bench": "parallel", "section": "workers", "comparison": f"contribute s, 1 worker / {cores()} workers",
          "ratio": value, "most_possible": round(args.accounts / math.ceil(args.accounts / cores()), 3),
          "target": TARGETS["contribute_speedup"], "met": None if value is None else value >= TARGETS["contribute_speedup"]})


LIGHT = ("advertise", "shares", "consistency", "reveal")  # stage names in the round's stage_seconds


def section_light(args, base: dict) -> None:
    """Light stages in the workers against in the host (the default up to 16 accounts), same run."""
    rows = [summary("light", spawn({**base, "workers": "auto", "light_in_host": up_to}, args.timeout))
            for up_to in (0, 16)]
    for row, where in zip(rows, ("workers", "host")):
        emit({**row, "light_stages_in": where})
    emit({"bench": "parallel", "section": "light", "comparison": "round s, light stages in workers / in the host",
          "ratio": ratio(rows[0].get("round_s"), rows[1].get("round_s"))})


def section_compete(args, base: dict) -> None:
    spec = {**base, "workers": "auto"}
    quiet = summary("compete", spawn(spec, args.timeout))
    emit(quiet)
    busy = subprocess.Popen([sys.executable, "-c", "import time\nend = time.time() + 7200\nwhile time.time() < end: pass"])
    try:
        loaded = summary("compete", spawn({**spec, "competing_processes": 1}, args.timeout))
    finally:
        busy.kill()
        busy.wait()
    emit(loaded)
    value = ratio(loaded.get("round_s"), quiet.get("round_s"))
    emit({"bench": "parallel", "section": "compete", "comparison": "round s with one CPU-bound process / quiet",
          "ratio": value, "target": TARGETS["competing_slowdown"], "met": None if value is None else value <= TARGETS["competing_slowdown"]})


def section_orchestration(args, base: dict) -> None:
    row = summary("orchestration", spawn({**base, "workers": "auto", "core_clock": True}, args.timeout))
    emit(row)
    share = None if row.get("core_share") is None else round(1 - row["core_share"], 4)
    emit({"bench": "parallel", "section": "orchestration", "comparison": "round wall time with no core work in any process",
          "share": share, "target": TARGETS["orchestration_share"], "met": None if share is None else share <= TARGETS["orchestration_share"]})


def section_scale(args, base: dict) -> None:
    spec = {**base, "workers": "auto", "accounts": args.scale_accounts, "per_account": args.scale_per_account,
            "rounds": args.scale_rounds, "degree": args.degree, "rings": args.rings, "threshold": args.threshold}
    emit(summary("scale", spawn(spec, args.timeout)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--job", help=argparse.SUPPRESS)
    ap.add_argument("--only", nargs="+", choices=["workers", "light", "compete", "orchestration", "scale"],
                    default=["workers", "compete", "orchestration", "scale"])
    ap.add_argument("--accounts", type=int, default=5)
    ap.add_argument("--limit", type=int, default=0, help="training images in all (0: all 60,000)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--plain", action="store_true", help="plaintext rounds instead of secure ones")
    ap.add_argument("--scale-accounts", type=int, default=100, help="at most 1,023 when secure (see scale above)")
    ap.add_argument("--scale-per-account", type=int, default=600)
    ap.add_argument("--scale-rounds", type=int, default=2)
    ap.add_argument("--degree", type=int, default=None, help="neighbour-graph degree at scale (None: complete)")
    ap.add_argument("--rings", type=int, default=1)
    ap.add_argument("--threshold", type=int, default=None)
    ap.add_argument("--timeout", type=int, default=7200, help="seconds per run")
    args = ap.parse_args()
    if args.job:
        emit(run(json.loads(args.job)))
        return
    emit({"bench": "machine", "cores": cores(), "load": os.getloadavg(), "python": sys.version.split()[0],
          "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())})
    base = {"accounts": args.accounts, "per_account": (args.limit // args.accounts) if args.limit else None,
            "rounds": args.rounds, "secure": not args.plain}
    for name in args.only:
        globals()[f"section_{name}"](args, base)


if __name__ == "__main__":
    main()
