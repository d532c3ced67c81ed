"""Entry point of the benchmark suite; see ``python -m benchmarks --help``.

    python -m benchmarks                 # compare + sweep at the default sizes (make bench)
    python -m benchmarks all             # compare + sweep + micro (the bench_*.py scripts)
    python -m benchmarks compare --full  # full MNIST, 10 rounds
    python -m benchmarks sweep --sweep-accounts 3 10 30 --sweep-per-account 600

Each job (one system, one mode, one setting) runs in a subprocess of its own; jobs of a
setting run back to back (fedring plain, Flower plain, fedring secure, Flower SecAgg+)
so that ratios compare measurements taken minutes apart on the same machine. Standard
output carries one JSON object per line; the report goes to ``--out`` (default
``benchmarks/out``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import report
from benchmarks.compare import best_ratios, check_targets, ratios, summarise

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def emit(obj: dict) -> None:
    print(json.dumps(obj, default=str), flush=True)


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", nargs="*", metavar="{compare,sweep,micro,all}", help="what to run (default: compare sweep; all = compare sweep micro)")
    ap.add_argument("--systems", nargs="+", default=["fedring", "flower"], choices=["fedring", "flower"])
    ap.add_argument("--modes", nargs="+", default=["plain", "secure"], choices=["plain", "secure"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--at-once", nargs="+", default=["one", "all"], choices=["one", "all"],
                    help="clients each system trains at the same time: one (on every core) and/or all cores (one core "
                         "and one torch thread each); each system's best of these is reported beside equal settings")
    g = ap.add_argument_group("compare")
    g.add_argument("--accounts", type=int, nargs="+", default=[10])
    g.add_argument("--limit", type=int, default=12000, help="use the first N training images (default 12000; 0 or --full: all 60000)")
    g.add_argument("--rounds", type=int, default=3)
    g.add_argument("--schemes", nargs="+", default=["iid", "dirichlet"], choices=["iid", "dirichlet"])
    g.add_argument("--alpha", type=float, default=0.5)
    g.add_argument("--full", action="store_true", help="full MNIST (60000 images) and 10 rounds")
    g = ap.add_argument_group("sweep")
    g.add_argument("--sweep-accounts", nargs="+", type=int, default=[3, 10, 30])
    g.add_argument("--sweep-per-account", type=int, default=600, help="training images per account")
    g.add_argument("--sweep-rounds", type=int, default=3, help="rounds per sweep job (s/round is the median of rounds 2..R)")
    g.add_argument("--sweep-scheme", default="iid", choices=["iid", "dirichlet"])
    g = ap.add_argument_group("training (both systems)")
    g.add_argument("--local-epochs", type=int, default=1)
    g.add_argument("--batch-size", type=int, default=64)
    g.add_argument("--learning-rate", type=float, default=1e-3)
    g = ap.add_argument_group("output")
    g.add_argument("--out", default=str(HERE / "out"))
    g.add_argument("--docs", action="store_true", help="also write docs/performance.md (and docs/img/ plots under 200 KB)")
    g.add_argument("--job-timeout", type=int, default=3600, help="seconds before a job is stopped and reported as timed out")
    g.add_argument("--micro-timeout", type=int, default=900)
    g.add_argument("--from-results", metavar="FILE", help="rebuild the report from a results.jsonl of an earlier run (runs nothing)")
    args = ap.parse_args(argv)
    bad = [w for w in args.what if w not in ("compare", "sweep", "micro", "all")]
    if bad:
        ap.error(f"unknown part {bad[0]!r}: choose from compare, sweep, micro, all")
    if not args.what:
        args.what = ["compare", "sweep"]
    if "all" in args.what:
        args.what = ["compare", "sweep", "micro"]
    if args.full:
        args.limit, args.rounds = None, 10
    args.limit = args.limit or None
    cores = os.cpu_count() or 1
    args.at_once = sorted({1 if a == "one" else cores for a in args.at_once})
    return args


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem_gib = round(kb / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    versions = {}
    for mod in ("torch", "flwr", "ray", "prefect", "numpy"):
        try:
            versions[mod] = __import__(mod).__version__ if importlib.util.find_spec(mod) else None
        except Exception:  # a broken optional install is reported, not fatal
            versions[mod] = "unimportable"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", False
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "commit": commit + ("+dirty" if dirty else ""),
        "loadavg_start": os.getloadavg(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def job_spec(args: argparse.Namespace, system: str, mode: str, scheme: str, accounts: int, limit: int | None, rounds: int,
             at_once: int = 1) -> dict:
    spec = {
        "system": system,
        "at_once": at_once,
        "mode": mode,
        "scheme": scheme,
        "accounts": accounts,
        "limit": limit,
        "rounds": rounds,
        "seed": args.seed,
        "local_epochs": args.local_epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
    }
    if scheme == "dirichlet":
        spec["alpha"] = args.alpha
    return spec


def run_job(spec: dict, out: Path, timeout: int) -> dict:
    """One job in a subprocess of its own; its log goes to ``out/logs``."""
    name = f"{spec['system']}-{spec['mode']}-{spec['scheme']}-{spec['accounts']}x{spec['limit'] or 'all'}-r{spec['rounds']}-{spec.get('at_once', 1)}at-once"
    if spec["system"] == "flower" and importlib.util.find_spec("flwr") is None:
        return {"spec": spec, "error": "flwr is not installed in this interpreter (pip install -e '.[bench]')"}
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    result_file = logs / f"{name}.json"
    result_file.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "benchmarks.compare", "--spec", json.dumps(spec), "--out", str(result_file)]
    env = dict(os.environ, FLWR_TELEMETRY_ENABLED="0", PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p))
    t0 = time.perf_counter()
    with open(logs / f"{name}.log", "w") as log:
        try:
            subprocess.run(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return {"spec": spec, "error": f"timed out after {timeout} s (log: {logs / f'{name}.log'})"}
    if not result_file.exists():
        return {"spec": spec, "error": f"job wrote no result after {time.perf_counter() - t0:.0f} s (log: {logs / f'{name}.log'})"}
    return json.loads(result_file.read_text())


def run_settings(args: argparse.Namespace, bench: str, settings: list[tuple[str, int, int | None, int]], out: Path) -> tuple[list[dict], list[dict]]:
    results, rows = [], []
    for scheme, accounts, limit, rounds in settings:
        for mode in args.modes:
            for at_once in args.at_once:
                for system in args.systems:
                    spec = job_spec(args, system, mode, scheme, accounts, limit, rounds, at_once)
                    result = run_job(spec, out, args.job_timeout)
                    result["bench"] = bench
                    results.append(result)
                    row = {"bench": bench, **summarise(result)}
                    rows.append(row)
                    emit(row)
    return results, rows


def run_micro(args: argparse.Namespace, out: Path) -> list[dict]:
    """Run the component benchmarks present beside this file; collect their JSON lines."""
    lines = []
    for path in sorted(HERE.glob("bench_*.py")):
        script = path.name
        if script == "bench_parallel.py":  # full-MNIST runs for an hour: `make bench` runs it on its own
            continue
        try:
            proc = subprocess.run([sys.executable, str(path)], cwd=REPO, capture_output=True, text=True, timeout=args.micro_timeout, check=False)
            stdout, status = proc.stdout, f"exit {proc.returncode}"
            (out / "logs").mkdir(parents=True, exist_ok=True)
            (out / "logs" / f"{path.stem}.stderr").write_text(proc.stderr)
        except subprocess.TimeoutExpired as exc:
            stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            status = f"timed out after {args.micro_timeout} s"
        for raw in stdout.splitlines():
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                line = {"bench": "micro", "script": script, **obj}
                lines.append(line)
                emit(line)
        emit({"bench": "micro", "script": script, "status": status})
        lines.append({"bench": "micro", "script": script, "status": status})
    return lines


def finish(args: argparse.Namespace, out: Path, meta: dict, results: list[dict], micro: list[dict]) -> None:
    """Ratios, targets, results.jsonl and the report, from the jobs' results."""
    compare_rows = [{"bench": "compare", **summarise(r)} for r in results if r.get("bench") == "compare"]
    sweep_rows = [{"bench": "sweep", **summarise(r)} for r in results if r.get("bench") == "sweep"]
    ratio_rows = best_ratios(compare_rows) + ratios(compare_rows) + best_ratios(sweep_rows) + ratios(sweep_rows)
    for r in ratio_rows:
        emit({"bench": "ratio", **r})
    checks = check_targets(ratio_rows)
    for c in checks:
        emit({"bench": "target", **c})
    with open(out / "results.jsonl", "w") as fh:
        for obj in [meta, *results, *micro]:
            fh.write(json.dumps(obj, default=str) + "\n")
    path = report.write(out, meta=meta, compare=compare_rows, sweep=sweep_rows, ratio_rows=ratio_rows, checks=checks, micro=micro, results=results)
    docs = report.publish(path, REPO / "docs") if args.docs else None
    emit({"bench": "report", "path": str(path), "docs": str(docs) if docs else None, "suite_seconds": round(meta.get("suite_seconds") or 0, 1)})


def rerender(args: argparse.Namespace, out: Path) -> int:
    lines = [json.loads(x) for x in Path(args.from_results).read_text().splitlines() if x.strip()]
    meta = next((x for x in lines if x.get("bench") == "machine"), {"bench": "machine"})
    results = [x for x in lines if x.get("bench") in ("compare", "sweep") and "spec" in x]
    micro = [x for x in lines if x.get("bench") == "micro"]
    finish(args, out, meta, results, micro)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.from_results:
        return rerender(args, out)
    meta = {"bench": "machine", **machine(), "command": "python -m benchmarks " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))}
    emit(meta)
    started = time.perf_counter()
    results: list[dict] = []
    micro: list[dict] = []
    if "compare" in args.what:
        settings = [(s, n, args.limit, args.rounds) for s in args.schemes for n in args.accounts]
        res, _ = run_settings(args, "compare", settings, out)
        results += res
    if "sweep" in args.what:
        settings = [(args.sweep_scheme, n, n * args.sweep_per_account, args.sweep_rounds) for n in args.sweep_accounts]
        res, _ = run_settings(args, "sweep", settings, out)
        results += res
    if "micro" in args.what:
        micro = run_micro(args, out)
    meta["loadavg_end"] = os.getloadavg()
    meta["suite_seconds"] = time.perf_counter() - started
    finish(args, out, meta, results, micro)
    return 0


if __name__ == "__main__":
    sys.exit(main())
