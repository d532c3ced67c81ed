"""Secure versus plaintext rounds, the cost of federated evaluation, and how much of a round Prefect takes.

Runs fedring's host flow in process (client stages in the host, ``execution.workers: 0``;
``bench_parallel.py`` measures the parallel default) on real MNIST, side by side: the plaintext
baseline and the secure pipeline with the same data, seed and training work, for each
roster size; ``secure-fedeval`` adds the federated evaluation of every round's model to
the secure rounds, which otherwise evaluate on the host's test set only, as before
workloads: rounds 2 on carry the previous model's evaluation in their own sum, and the
last model gets a secure sum of its own (``fedring.round.evaluate``). Its cost, counted
by stages: the accounts' evaluation inside the training rounds' contribute (timed around
``evaluation_sums``) plus every stage of the last model's evaluation sum. Core work (training, quantising, masking, sealing, storage, evaluation)
is timed by wrapping the core functions; orchestration is the rest of the round's
wall time. Prints one JSON line per (mode, accounts) and one per comparison.

    python benchmarks/bench_round.py --accounts 3 10 --rounds 3 --limit 6000
    python benchmarks/bench_round.py --accounts 3 --modes secure secure-fedeval
    python benchmarks/bench_round.py --workload resnet18-mnist --accounts 3 --rounds 2 --limit 1500
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
if "PREFECT_HOME" not in os.environ:  # a home of its own, removed at exit
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="fedring-bench-prefect-")
    atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], ignore_errors=True)
from fedring.cli.prefect_env import apply_server_settings  # noqa: E402

apply_server_settings()

import fedring.round.advertise as advertise_core  # noqa: E402
import fedring.round.contribute as contribute_core  # noqa: E402
import fedring.round.model as model_core  # noqa: E402
import fedring.round.reveal as reveal_core  # noqa: E402
import fedring.round.ring as ring_core  # noqa: E402
import fedring.round.unmask as unmask_core  # noqa: E402
import fedring.ml.data as ml_data  # noqa: E402
import fedring.split as split_core  # noqa: E402
import tasks.advertise as advertise_tasks  # noqa: E402
import tasks.contribute as contribute_tasks  # noqa: E402
import tasks.enrol as enrol_tasks  # noqa: E402
import tasks.model as model_tasks  # noqa: E402
import tasks.plain as plain_tasks  # noqa: E402
import tasks.reveal as reveal_tasks  # noqa: E402
import tasks.ring as ring_tasks  # noqa: E402
import tasks.run as run_tasks  # noqa: E402
import tasks.unmask as unmask_tasks  # noqa: E402
from fedring.round.party import Host  # noqa: E402
from fedring.storage import LocalStore  # noqa: E402

# Everything that is fedring's own work: computation, crypto and storage I/O. What
# is left of a round's wall time is Prefect (flow and task runs, state API calls).
# Each name is patched where its caller looks it up.
CORE = [
    (advertise_core, ("advertise", "relay_advertisements", "publish_directory")),
    (contribute_core, ("contribute",)),
    (ring_core, ("ring_hop", "relay_partial")),
    (reveal_core, ("reveal",)),
    (unmask_core, ("unmask_and_aggregate",)),
    (model_core, ("broadcast", "open_model")),
    (Host, ("outbox_bytes",)),
    (unmask_tasks, ("published_meta",)),
    (advertise_tasks, ("client_party", "host_party")),
    (enrol_tasks, ("ensure_keys", "describe_data", "read_roster")),
    (contribute_tasks, ("client_party",)),
    (ring_tasks, ("client_party",)),
    (reveal_tasks, ("client_party",)),
    (run_tasks, ("start_run", "commit_round", "latest_manifest", "seal_model")),
    (model_tasks, ("host_evaluation",)),
    (plain_tasks, ("plain_contribute", "plain_aggregate")),
    (split_core, ("split_data",)),
    (ml_data, ("load_mnist",)),  # imported at call time by the split and the MNIST workload's test set
    (LocalStore, ("put", "get", "exists", "list")),
]


@contextmanager
def core_timer():
    """Accumulate wall time spent inside core functions (not nested: outermost call only)."""
    spent: dict[str, float] = defaultdict(float)
    depth = [0]
    originals = []
    for module, names in CORE:
        for name in names:
            real = getattr(module, name)

            def timed(*args, __real=real, __name=name, **kwargs):
                depth[0] += 1
                start = time.perf_counter()
                try:
                    return __real(*args, **kwargs)
                finally:
                    depth[0] -= 1
                    if depth[0] == 0:
                        spent[__name] += time.perf_counter() - start

            originals.append((module, name, real))
            setattr(module, name, timed)
    try:
        yield spent
    finally:
        for module, name, real in originals:
            setattr(module, name, real)


def run(
    n_accounts: int, *, secure: bool, rounds: int, limit: int | None, root: Path, scheme: str = "iid", alpha: float = 0.5,
    federated_evaluation: bool = False, workload: str = "mnist",
) -> dict:
    from fedring.config import build_config
    from fedring.split import simulate_accounts
    from flows.host import federated_training

    mode = ("secure" if secure else "plaintext") + ("-fedeval" if federated_evaluation else "")
    cfg = build_config(
        run=f"bench-{workload}-{mode}-{n_accounts}",
        accounts=[{"name": f"account-{i + 1}"} for i in range(n_accounts)],
        partition={"scheme": scheme, "alpha": alpha, "limit": limit},
        training={"rounds": rounds},
        secagg={"secure": secure},
        workload={"name": workload, "federated_evaluation": federated_evaluation},
        storage={"root": str(root / "storage")},
        # In the host, one account after another: the core timer patches this process only.
        # benchmarks/bench_parallel.py times the parallel default in every process.
        execution={"workers": 0},
    )
    with core_timer() as spent, evaluation_timer() as evaluating:
        start = time.perf_counter()
        simulate_accounts(cfg)  # the demo's simulation step (the split), timed as before workloads
        manifest = federated_training(cfg)
        total = time.perf_counter() - start
    committed = manifest["committed"]
    eval_sum = sum(v for m in committed for k, v in m["stage_seconds"].items() if k.startswith("eval "))
    all_rounds = sum(m["seconds"] for m in committed)
    later = committed[1:] or committed
    round_seconds = [m["seconds"] for m in later]
    core_seconds = sum(spent.values())
    orchestration = max(total - core_seconds, 0.0)
    return {
        "bench": "round",
        "mode": mode,
        "workload": workload,
        "accounts": n_accounts,
        "partition": scheme if scheme != "dirichlet" else f"dirichlet({alpha})",
        "rounds": rounds,
        "images": limit or 60000,
        "median_round_seconds": round(statistics.median(round_seconds), 2),
        "median_stage_seconds": {s: round(statistics.median(m["stage_seconds"].get(s, 0.0) for m in later), 3)
                                 for s in later[0]["stage_seconds"]},
        "total_seconds": round(total, 1),
        "core_seconds": round(core_seconds, 1),
        "orchestration_seconds": round(orchestration, 1),
        "orchestration_share": round(orchestration / total, 3),
        "final_accuracy": committed[-1]["accuracy"],
        "accuracy_per_round": [m["accuracy"] for m in committed],
        "bytes_sent_per_account": int(statistics.mean(committed[-1]["bytes_sent"].values())),
        "float32_update_bytes": float32_update_bytes(workload),
        "core_breakdown": {k: round(v, 2) for k, v in sorted(spent.items())},
        **({"fedeval": {
            "carried_seconds": round(evaluating["carried"], 2),  # evaluating inside rounds 2..R's contribute
            "last_sum_seconds": round(eval_sum, 2),  # every stage of the last model's evaluation sum
            "rounds_seconds": round(all_rounds, 2),
            "share_of_run": round((evaluating["carried"] + eval_sum) / all_rounds, 4),
            "carried_share_per_round": round(evaluating["carried"] / max(rounds - 1, 1)
                                             / statistics.median(m["seconds"] for m in committed[:-1] or committed), 4),
        }} if federated_evaluation else {}),
    }


@contextmanager
def evaluation_timer():
    """Seconds the accounts spend evaluating a model inside training rounds (``carried``), apart
    from the evaluation inside the last model's own sum (its stages are timed as ``eval *``)."""
    import fedring.round.evaluate as evaluate_core

    spent = {"carried": 0.0}
    inside_sum = [False]
    real_sums, real_vector = evaluate_core.evaluation_sums, evaluate_core.evaluation_vector

    def sums(*args, **kwargs):
        start = time.perf_counter()
        try:
            return real_sums(*args, **kwargs)
        finally:
            if not inside_sum[0]:
                spent["carried"] += time.perf_counter() - start

    def vector(*args, **kwargs):
        inside_sum[0] = True
        try:
            return real_vector(*args, **kwargs)
        finally:
            inside_sum[0] = False

    evaluate_core.evaluation_sums, evaluate_core.evaluation_vector = sums, vector
    try:
        yield spent
    finally:
        evaluate_core.evaluation_sums, evaluate_core.evaluation_vector = real_sums, real_vector


def float32_update_bytes(workload: str) -> int:
    """The workload's model state as it would travel in plaintext float32 (the bytes target's unit)."""
    from fedring.ml.state import StateLayout
    from fedring.workloads import resolve_workload

    return 4 * StateLayout.of(resolve_workload(workload).build_model(0)).float_size


def prefect_overhead(samples: int = 20) -> dict:
    """Median wall time of an empty task run and of an empty in-process subflow (heartbeat off)."""
    from prefect import flow, task
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    @task(persist_result=False)
    def empty_task() -> None:
        return None

    @flow(persist_result=False)
    def empty_subflow() -> None:
        return None

    @flow(persist_result=False)
    def parent() -> tuple[list[float], list[float]]:
        task_times, flow_times = [], []
        for _ in range(samples):
            start = time.perf_counter()
            empty_task()
            task_times.append(time.perf_counter() - start)
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            for _ in range(samples):
                start = time.perf_counter()
                empty_subflow()
                flow_times.append(time.perf_counter() - start)
        return task_times, flow_times

    task_times, flow_times = parent()
    return {
        "bench": "prefect-overhead",
        "samples": samples,
        "median_task_run_seconds": round(statistics.median(task_times), 4),
        "median_subflow_run_seconds": round(statistics.median(flow_times), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, nargs="+", default=[3, 10])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=int, default=6000, help="training images (0: all 60,000)")
    parser.add_argument("--partition", choices=["iid", "dirichlet", "shards"], default="iid")
    parser.add_argument("--alpha", type=float, default=0.5)
    parser.add_argument("--modes", nargs="+", choices=["plaintext", "secure", "secure-fedeval"], default=["plaintext", "secure"])
    parser.add_argument("--workload", default="mnist", help="a workload on MNIST data: mnist or resnet18-mnist")
    args = parser.parse_args()
    print(json.dumps(prefect_overhead()), flush=True)
    for n in args.accounts:
        rows = {}
        for mode in args.modes:
            with tempfile.TemporaryDirectory(prefix="fedring-bench-") as tmp:
                rows[mode] = run(
                    n, secure=mode != "plaintext", rounds=args.rounds, limit=args.limit or None, root=Path(tmp),
                    scheme=args.partition, alpha=args.alpha, federated_evaluation=mode == "secure-fedeval", workload=args.workload,
                )
            print(json.dumps(rows[mode]), flush=True)
        if {"secure", "secure-fedeval"} <= rows.keys():
            ratio = rows["secure-fedeval"]["median_round_seconds"] / rows["secure"]["median_round_seconds"]
            print(json.dumps({"bench": "federated-evaluation-ratio", "workload": args.workload, "accounts": n,
                              "fedeval_over_secure_round": round(ratio, 3), "target": 1.03}), flush=True)
        if not {"secure", "plaintext"} <= rows.keys():
            continue
        rows = {True: rows["secure"], False: rows["plaintext"]}
        print(
            json.dumps(
                {
                    "bench": "round-ratio",
                    "workload": args.workload,
                    "accounts": n,
                    "secure_over_plaintext_round": round(rows[True]["median_round_seconds"] / rows[False]["median_round_seconds"], 3),
                    "secure_orchestration_share": rows[True]["orchestration_share"],
                    "secure_bytes_over_float32_update": round(
                        rows[True]["bytes_sent_per_account"] / rows[True]["float32_update_bytes"], 4),
                    "accuracy_gap_pp": round(100 * (rows[True]["final_accuracy"] - rows[False]["final_accuracy"]), 2),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
