"""This checkout's round against an earlier revision's, side by side in one run.

For targets of the form "costs at most X% more than the round before this change": runs
``benchmarks/bench_round.py`` (secure mode) from this checkout and from a git worktree
of ``--rev``, alternating A/B ``--repeat`` times so that load on a shared machine hits
both alike, and prints every run, then one line per roster size with the ratio of the
median round times and of the bytes an account sends, and the bytes an account sends
as a multiple of its float32 update.

    .venv/bin/python benchmarks/bench_versions.py --rev 713e832 --accounts 3 10 --limit 6000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))


def float32_update_bytes() -> int:
    """The reference CNN as it travels in plaintext: every parameter and buffer as float32."""
    from fedring.ml.model import build_model
    from fedring.ml.weights import to_vector

    return 4 * to_vector(build_model()).size


def worktree(rev: str) -> Path:
    """A detached worktree of ``rev`` under the temp directory (made once, reused)."""
    path = Path(tempfile.gettempdir()) / f"fedring-rev-{rev}"
    if not path.exists():
        subprocess.run(["git", "-C", str(HERE), "worktree", "add", "--detach", str(path), rev], check=True,
                       capture_output=True)
    return path


def one_run(tree: Path, accounts: int, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, str(tree / "benchmarks" / "bench_round.py"), "--accounts", str(accounts),
           "--rounds", str(args.rounds), "--limit", str(args.limit), "--modes", "secure"]
    out = subprocess.run(cmd, cwd=tree, check=True, capture_output=True, text=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return next(r for r in rows if r.get("bench") == "round")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rev", required=True, help="the earlier revision (a commit of this repository)")
    parser.add_argument("--accounts", type=int, nargs="+", default=[3, 10])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=int, default=6000, help="training images (0: all 60,000)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    trees = {"this": HERE, args.rev: worktree(args.rev)}
    update = float32_update_bytes()
    for n in args.accounts:
        runs: dict[str, list[dict]] = {name: [] for name in trees}
        for _ in range(args.repeat):
            for name, tree in trees.items():
                row = one_run(tree, n, args)
                runs[name].append(row)
                print(json.dumps({"version": name, **{k: row[k] for k in
                      ("accounts", "images", "median_round_seconds", "bytes_sent_per_account", "final_accuracy")}}),
                      flush=True)
        median = {name: statistics.median(r["median_round_seconds"] for r in rs) for name, rs in runs.items()}
        sent = {name: statistics.median(r["bytes_sent_per_account"] for r in rs) for name, rs in runs.items()}
        print(json.dumps({
            "bench": "versions", "accounts": n, "rev": args.rev, "repeat": args.repeat,
            "round_seconds_this": median["this"], "round_seconds_rev": median[args.rev],
            "round_ratio_this_over_rev": round(median["this"] / median[args.rev], 3),
            "bytes_ratio_this_over_rev": round(sent["this"] / sent[args.rev], 4),
            "bytes_over_float32_update_this": round(sent["this"] / update, 4),
        }), flush=True)


if __name__ == "__main__":
    main()
