"""Benchmarks of the workload interface; prints one JSON object per line.

    .venv/bin/python benchmarks/bench_workloads.py                    # everything (several minutes)
    .venv/bin/python benchmarks/bench_workloads.py --only tabular --seeds 0 --rounds 5   # small

Sections:
  tabular  breast-cancer, 3 accounts, IID and label-skewed (Dirichlet 0.5) splits: plain
           FedAvg through the interface (federated statistics, train_local, federated
           evaluation as exact integer sums) against centralised training of the same model
           from the same initial weights on the union of the same training rows, for the same
           number of passes, evaluated on the union of the same evaluation rows, in one run.
           Target: federated accuracy within 1 percentage point of centralised. One evaluation
           row is 0.9 pp of a seed's 114, so accuracies are averaged over --seeds (each seed
           draws other partitions and evaluation rows).
  resnet   ResNet-18 (resnet18-mnist) against the reference CNN (mnist) on the same real MNIST
           batch: seconds per image of a training step (forward, backward, Adam) and of a
           forward pass, parameters, and the bytes of the state codec per float32 byte.
  layout   the reference CNN's forward pass over real MNIST test images on one thread, in the
           default (contiguous) memory format against channels-last (what the image
           workloads evaluate in, ``fedring.ml.train.channels_last``), side by side: seconds
           and whether predictions agree.
  statistics  the cost of federated statistics in a secure run: breast-cancer, 3 accounts,
           --rounds rounds through the real flows (client stages in the host), the
           statistics sum (once, before round 1) timed against the rounds' seconds (their
           stage clocks, ``share_of_run``) and against the whole run's wall time, which
           also holds Prefect's start and end of each round's flow (``share_of_wall_time``).
Timings are wall-clock on a shared 2-core machine: compare ratios, not absolutes.
"""

from __future__ import annotations

import argparse
import atexit
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fedring.config import TrainingConfig  # noqa: E402
from fedring.data import Examples  # noqa: E402
from fedring.data.put import put_data  # noqa: E402
from fedring.ml.state import StateLayout  # noqa: E402
from fedring.storage import LocalStore  # noqa: E402
from fedring.workloads import RoundSettings, resolve_workload  # noqa: E402
from fedring.workloads.breast_cancer import write_account_tables  # noqa: E402
from fedring.workloads.simulate import federated_average  # noqa: E402

ACCOUNTS = ["account-1", "account-2", "account-3"]
TARGET_GAP_PP = 1.0


def emit(**kw) -> None:
    print(json.dumps(kw), flush=True)


def _union(parts: list[Examples]) -> Examples:
    return Examples(np.concatenate([p.features for p in parts]), np.concatenate([p.labels for p in parts]), "union")


def tabular_once(root: Path, scheme: str, seed: int, training: TrainingConfig) -> dict:
    """Federated and centralised accuracy on one seed's partition (same rows, same initial model)."""
    write_account_tables(root / "src", ACCOUNTS, scheme=scheme, seed=seed)
    stores = {}
    for name in ACCOUNTS:
        stores[name] = LocalStore(root / "buckets", f"fedring-{name}", account=name)
        put_data(stores[name], root / "src" / name)
    workload = resolve_workload("breast-cancer")

    t0 = time.perf_counter()
    sim = federated_average(workload, stores, training=training, seed=seed)
    federated_seconds = time.perf_counter() - t0

    data = [workload.load_data(s, "data/") for s in stores.values()]
    train, held = _union([d.train for d in data]), _union([d.evaluation for d in data])
    model = workload.build_model(seed, sim.stats)  # the federation's initial model, same statistics
    settings = RoundSettings(epochs=training.rounds * training.local_epochs, batch_size=training.batch_size,
                             learning_rate=training.learning_rate, seed=seed, rnd=1)
    t0 = time.perf_counter()
    workload.train(model, train, settings, who="centralised")
    central = workload.evaluate(model, held, who="centralised")
    central_seconds = time.perf_counter() - t0
    federated = sim.rounds[-1].evaluation
    assert federated.examples == central.examples == len(held)
    return {"federated": federated, "central": central, "federated_seconds": federated_seconds,
            "central_seconds": central_seconds, "train_rows": [len(d.train) for d in data]}


def bench_tabular(args: argparse.Namespace) -> None:
    training = TrainingConfig(rounds=args.rounds, local_epochs=1, batch_size=16, learning_rate=args.learning_rate)
    for scheme in ("iid", "dirichlet"):
        runs = []
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as tmp:
                runs.append(tabular_once(Path(tmp), scheme, seed, training))
        correct_fed = sum(r["federated"].correct for r in runs)
        correct_central = sum(r["central"].correct for r in runs)
        examples = sum(r["federated"].examples for r in runs)
        fed, central = correct_fed / examples, correct_central / examples
        gap = 100 * (central - fed)
        emit(bench="tabular", workload="breast-cancer", scheme=scheme, alpha=0.5 if scheme == "dirichlet" else None,
             accounts=len(ACCOUNTS), rounds=args.rounds, seeds=args.seeds, eval_examples=examples,
             train_rows_per_seed=[r["train_rows"] for r in runs],
             federated_accuracy=round(fed, 4), centralised_accuracy=round(central, 4),
             per_seed=[[round(r["federated"].accuracy, 4), round(r["central"].accuracy, 4)] for r in runs],
             gap_pp=round(gap, 2), target_gap_pp=TARGET_GAP_PP, within_target=abs(gap) <= TARGET_GAP_PP,
             federated_seconds=round(sum(r["federated_seconds"] for r in runs), 2),
             centralised_seconds=round(sum(r["central_seconds"] for r in runs), 2))


def _step_cost(workload, model, examples: Examples, steps: int) -> tuple[float, float]:
    """Seconds per image of a training step and of a forward pass (best of ``steps``, after a warm-up)."""
    settings = RoundSettings(epochs=1, batch_size=len(examples), learning_rate=1e-3, seed=0, rnd=1)
    workload.train(model, examples, settings, who="bench")  # warm-up
    train = min(_timed(lambda: workload.train(model, examples, settings, who="bench")) for _ in range(steps))
    forward = min(_timed(lambda: workload.evaluate(model, examples, who="bench")) for _ in range(steps))
    return train / len(examples), forward / len(examples)


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_resnet(args: argparse.Namespace) -> None:
    from fedring.ml.data import load_mnist

    train, _ = load_mnist()
    batch = Examples(train.images[: args.batch], train.labels[: args.batch], "mnist")
    costs = {}
    for name in ("mnist", "resnet18-mnist"):
        workload = resolve_workload(name)
        model = workload.build_model(0)
        layout = StateLayout.of(model)
        train_s, forward_s = _step_cost(workload, model, batch, args.steps)
        wire = len(layout.encode(layout.split(model.state_dict())))
        costs[name] = train_s
        emit(bench="resnet", workload=name, batch=args.batch, steps=args.steps,
             parameters=sum(p.numel() for p in model.parameters()),
             train_seconds_per_image=round(train_s, 6), forward_seconds_per_image=round(forward_s, 6),
             float32_bytes=4 * layout.float_size, wire_bytes=wire, wire_per_float32=round(wire / (4 * layout.float_size), 6))
    emit(bench="resnet", what="train cost per image, resnet18 / cnn",
         ratio=round(costs["resnet18-mnist"] / costs["mnist"], 2))


def bench_layout(args: argparse.Namespace) -> None:
    import torch

    from fedring.ml.data import load_mnist
    from fedring.ml.model import build_model
    from fedring.ml.train import channels_last, limit_threads, to_tensor

    limit_threads(1)
    _, test = load_mnist()
    x = to_tensor(test.images[: args.images])
    model = build_model(0).eval()

    def forward(inputs: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return torch.cat([model(inputs[i : i + 128]) for i in range(0, len(inputs), 128)])

    def in_channels_last() -> torch.Tensor:
        with channels_last(model, x) as inputs:
            return forward(inputs)

    plain, fast = forward(x), in_channels_last()  # warm-up, and the outputs compared
    seconds = {"contiguous": [], "channels_last": []}
    for _ in range(args.steps):  # alternated, so both see the same machine
        seconds["contiguous"].append(_timed(lambda: forward(x)))
        seconds["channels_last"].append(_timed(in_channels_last))
    best = {k: min(v) for k, v in seconds.items()}
    emit(bench="layout", images=len(x), threads=1, steps=args.steps, **{f"{k}_seconds": round(v, 3) for k, v in best.items()},
         speedup=round(best["contiguous"] / best["channels_last"], 2),
         same_predictions=bool(torch.equal(plain.argmax(1), fast.argmax(1))),
         max_logit_difference=float((plain - fast).abs().max()))


def bench_statistics(args: argparse.Namespace) -> None:
    import os

    if "PREFECT_HOME" not in os.environ:  # a home of its own, removed at exit
        os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="fedring-bench-prefect-")
        atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], ignore_errors=True)
    from fedring.cli.prefect_env import apply_server_settings

    apply_server_settings()
    from prefect import flow

    import flows.host as host_flow
    from fedring.config import build_config
    from fedring.storage import owner_store

    spent = []
    real = host_flow.statistics

    def timed(*a, **kw):
        t0 = time.perf_counter()
        try:
            return real(*a, **kw)
        finally:
            spent.append(time.perf_counter() - t0)

    host_flow.statistics = timed
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cfg = build_config(run="bench-stats", accounts=[{"name": n} for n in ACCOUNTS], training={"rounds": args.rounds},
                           workload={"name": "breast-cancer"}, storage={"root": str(root / "storage")},
                           execution={"workers": 0})
        write_account_tables(root / "src", ACCOUNTS, scheme="iid", seed=0)
        for name in ACCOUNTS:
            put_data(owner_store(cfg, name), root / "src" / name)
        flow(name="warm-up")(lambda: None)()  # the embedded Prefect server starts here, outside the timed run
        t0 = time.perf_counter()
        committed = host_flow.federated_training(cfg)["committed"]
        run = time.perf_counter() - t0
    host_flow.statistics = real
    rounds = [m["seconds"] for m in committed]
    emit(bench="statistics", workload="breast-cancer", accounts=len(ACCOUNTS), rounds=len(rounds), secure=True,
         statistics_seconds=round(spent[0], 2), median_round_seconds=round(float(np.median(rounds)), 2),
         rounds_seconds=round(sum(rounds), 2), share_of_run=round(spent[0] / (spent[0] + sum(rounds)), 4),
         run_seconds=round(run, 2), share_of_wall_time=round(spent[0] / run, 4),
         over_one_round=round(spent[0] / float(np.median(rounds)), 2),
         fed_accuracy=committed[-1]["federated"]["accuracy"])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", choices=["tabular", "resnet", "layout", "statistics"],
                    default=["tabular", "resnet", "layout", "statistics"])
    ap.add_argument("--images", type=int, default=2000, help="layout: test images per forward pass")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--learning-rate", type=float, default=0.01)
    ap.add_argument("--batch", type=int, default=32, help="resnet: images per timed step")
    ap.add_argument("--steps", type=int, default=3, help="resnet: timed steps (best of)")
    args = ap.parse_args(argv)
    emit(bench="env", python=platform.python_version(), machine=platform.machine(), argv=sys.argv[1:])
    if "tabular" in args.only:
        bench_tabular(args)
    if "resnet" in args.only:
        bench_resnet(args)
    if "layout" in args.only:
        bench_layout(args)
    if "statistics" in args.only:
        bench_statistics(args)


if __name__ == "__main__":
    main()
