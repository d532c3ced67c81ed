"""Flower (``flwr``) running the same FedAvg workload as fedring, plain or with SecAgg+.

Same model (``fedring.ml.model.build_model``), same initial weights (``build_model(seed)``),
same partitions (``fedring.split.split_indices``), same local training
(``fedring.ml.train.train``: Adam, batch size, epochs, and the per-(account, round) seed
``fedring.round.train.round_seed``), same evaluation on the full test set after every round.
What differs is the system around it: Flower's in-process simulation (Ray backend), its
``DefaultWorkflow`` with FedAvg, and for the secure mode ``SecAggPlusWorkflow`` on the
server and ``secaggplus_mod`` on the clients.

A model travels as one float32 vector (every parameter and batch-norm buffer, as
fedring's ``to_vector``), so both systems move the same numbers.

The client side runs in Ray worker processes: it reads its partition from a ``.npz``
file the runner wrote (as a fedring account reads its bucket), and appends the size
of every reply it sends (``message_to_proto(reply).ByteSize()``, all SecAgg+ stages
included) to a JSON-lines file named by ``BENCH_FLOWER_BYTES_LOG``.

Used by ``benchmarks.compare`` in a subprocess of its own; never imported by the tests.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

PARTS_ENV = "BENCH_FLOWER_PARTS"
BYTES_ENV = "BENCH_FLOWER_BYTES_LOG"
THREADS_ENV = "BENCH_TORCH_THREADS"
TRAINING_ENV = "BENCH_FLOWER_TRAINING"


def account_name(partition_id: int) -> str:
    """fedring names accounts account-1..account-N; Flower's partition-id is 0-based."""
    return f"account-{partition_id + 1}"


# ---------------------------------------------------------------- client side (Ray workers)


def _bytes_mod(msg, ctx, call_next):
    """Outermost client mod: record the serialized size of every reply this node sends."""
    stage = ""  # read before call_next: secaggplus_mod consumes the incoming configs
    for name, rec in msg.content.config_records.items():
        if name == "secaggplus_configs" and "stage" in rec:
            stage = str(rec["stage"])
    started = time.time()
    reply = call_next(msg, ctx)
    finished = time.time()
    path = os.environ.get(BYTES_ENV)
    if path and reply.has_content():
        from flwr.common.serde import message_to_proto

        line = {
            "node": int(ctx.node_config.get("partition-id", -1)),
            "round": msg.metadata.group_id,
            "type": msg.metadata.message_type,
            "stage": stage,
            "bytes": message_to_proto(reply).ByteSize(),
            "t0": started,
            "t1": finished,
        }
        with open(path, "a") as fh:
            fh.write(json.dumps(line) + "\n")
    return reply


def _client_fn(context):
    import torch
    from flwr.client import NumPyClient

    from fedring.ml.model import build_model
    from fedring.ml.train import train
    from fedring.ml.weights import load_vector, to_vector
    from fedring.round.train import round_seed

    threads = int(os.environ.get(THREADS_ENV, "0"))
    if threads > 0:
        torch.set_num_threads(threads)
    pid = int(context.node_config["partition-id"])
    account = account_name(pid)
    with np.load(Path(os.environ[PARTS_ENV]) / f"{pid}.npz") as npz:
        images, labels = npz["images"], npz["labels"]
    training = json.loads(os.environ[TRAINING_ENV])

    class Client(NumPyClient):
        def fit(self, parameters, config):
            rnd = int(config["round"])
            model = load_vector(build_model(), parameters[0])
            result = train(
                model,
                images,
                labels,
                epochs=training["local_epochs"],
                batch_size=training["batch_size"],
                learning_rate=training["learning_rate"],
                seed=round_seed(training["seed"], account, rnd),
            )
            return [to_vector(model)], int(result.samples), {"loss": float(result.loss)}

    return Client().to_client()


def client_app(secure: bool):
    from flwr.client import ClientApp
    from flwr.client.mod import secaggplus_mod

    return ClientApp(client_fn=_client_fn, mods=[_bytes_mod, secaggplus_mod] if secure else [_bytes_mod])


# ---------------------------------------------------------------- server side (this process)


def server_app(*, n: int, rounds: int, secure: bool, initial: np.ndarray, test, max_weight: float, timeline: list):
    """A ServerApp running FedAvg over all ``n`` clients; appends (round, t, acc, loss) to ``timeline``."""
    from flwr.common import Context, ndarrays_to_parameters
    from flwr.server import Grid, LegacyContext, ServerApp, ServerConfig
    from flwr.server.strategy import FedAvg
    from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow

    from fedring.ml.model import build_model
    from fedring.ml.train import evaluate
    from fedring.ml.weights import load_vector

    def evaluate_fn(server_round, arrays, config):
        acc, loss = evaluate(load_vector(build_model(), arrays[0]), test.images, test.labels)
        timeline.append({"round": int(server_round), "t": time.perf_counter(), "accuracy": acc, "loss": loss})
        return loss, {"accuracy": acc}

    strategy = FedAvg(
        fraction_fit=1.0,
        fraction_evaluate=0.0,
        min_fit_clients=n,
        min_available_clients=n,
        initial_parameters=ndarrays_to_parameters([initial]),
        evaluate_fn=evaluate_fn,
        on_fit_config_fn=lambda rnd: {"round": rnd},
    )
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        legacy = LegacyContext(context=context, config=ServerConfig(num_rounds=rounds), strategy=strategy)
        if secure:
            # Complete graph (every client shares with every other, as fedring's default
            # degree=None) and a majority threshold (fedring's default t = n // 2 + 1).
            fit = SecAggPlusWorkflow(
                num_shares=1.0,
                reconstruction_threshold=secure_threshold(n),
                max_weight=max_weight,
            )
            DefaultWorkflow(fit_workflow=fit)(grid, legacy)
        else:
            DefaultWorkflow()(grid, legacy)

    return app


def secure_threshold(n: int) -> int | float:
    t = n // 2 + 1
    return 1.0 if t >= n else t  # Flower needs threshold < num_shares when both are ints


def run(spec: dict, workdir: Path) -> dict:
    """Run one Flower simulation as ``spec`` says; return timings, accuracy and bytes."""
    os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    import flwr
    from flwr.simulation import run_simulation

    from fedring.config import build_config
    from fedring.ml.data import load_mnist
    from fedring.ml.model import build_model
    from fedring.ml.weights import to_vector
    from fedring.split import split_indices

    n, rounds, secure = spec["accounts"], spec["rounds"], spec["mode"] == "secure"
    cfg = build_config(**fedring_config_kwargs(spec, workdir / "unused"))
    train, test = load_mnist()
    data = train.head(cfg.partition.limit)
    parts = split_indices(cfg, len(data), data.labels)
    parts_dir = workdir / "parts"
    parts_dir.mkdir(parents=True, exist_ok=True)
    for i, idx in enumerate(parts):
        np.savez(parts_dir / f"{i}.npz", images=data.images[idx], labels=data.labels[idx])
    bytes_log = workdir / "bytes.jsonl"
    os.environ[PARTS_ENV] = str(parts_dir)
    os.environ[BYTES_ENV] = str(bytes_log)
    cpus = os.cpu_count() or 1
    at_once = max(1, int(spec.get("at_once") or 1))
    os.environ[THREADS_ENV] = str(spec.get("torch_threads") or max(1, cpus // at_once))
    os.environ[TRAINING_ENV] = json.dumps({**cfg.training.model_dump(), "seed": cfg.seed})
    repo = str(Path(__file__).resolve().parents[2])
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (repo, os.environ.get("PYTHONPATH")) if p)

    timeline: list[dict] = []
    app = server_app(
        n=n,
        rounds=rounds,
        secure=secure,
        initial=to_vector(build_model(cfg.seed)),
        test=test,
        max_weight=float(max(len(p) for p in parts)),
        timeline=timeline,
    )
    backend = {
        # ``at_once`` clients train at the same time, each on cores / at_once cores and as
        # many torch threads: 1 is one client at a time on every core; cores is Flower's
        # faster setting here, one client per core with one thread each.
        "client_resources": {"num_cpus": max(1, cpus // at_once), "num_gpus": 0.0},
        "init_args": {"num_cpus": cpus, "include_dashboard": False, "log_to_driver": False},
    }
    t0 = time.perf_counter()
    run_simulation(server_app=app, client_app=client_app(secure), num_supernodes=n, backend_config=backend)
    total = time.perf_counter() - t0

    by_round: dict[int, float] = {}
    busy: dict[int, float] = {}
    stages: dict[str, int] = {}
    nodes: set[int] = set()
    if bytes_log.exists():
        for line in bytes_log.read_text().splitlines():
            rec = json.loads(line)
            if rec["round"].isdigit() and int(rec["round"]) >= 1:
                by_round[int(rec["round"])] = by_round.get(int(rec["round"]), 0) + rec["bytes"]
                busy[int(rec["round"])] = busy.get(int(rec["round"]), 0.0) + rec["t1"] - rec["t0"]
                stages[rec["stage"] or rec["type"]] = stages.get(rec["stage"] or rec["type"], 0) + rec["bytes"]
                nodes.add(rec["node"])
    evals = sorted(timeline, key=lambda e: e["round"])
    rounds_out = []
    for prev, cur in zip(evals, evals[1:]):
        rounds_out.append(
            {
                "round": cur["round"],
                "seconds": cur["t"] - prev["t"],
                "accuracy": cur["accuracy"],
                "loss": cur["loss"],
                "bytes_per_client": by_round.get(cur["round"], 0) / max(len(nodes), 1),
                "client_seconds": busy.get(cur["round"], 0.0),
            }
        )
    n_rounds_bytes = max(len(by_round), 1)
    return {
        "version": flwr.__version__,
        "total_seconds": total,
        "startup_seconds": (evals[0]["t"] - t0) if evals else None,
        "initial_accuracy": evals[0]["accuracy"] if evals else None,
        "rounds": rounds_out,
        "bytes_by_stage_per_client_round": {
            k: v / max(len(nodes), 1) / n_rounds_bytes for k, v in sorted(stages.items())
        },
        "update_bytes": 4 * int(to_vector(build_model(cfg.seed)).size),
        "completed": len(rounds_out) == rounds,
        "secagg": {"num_shares": "all (1.0)", "reconstruction_threshold": secure_threshold(n)} if secure else None,
    }


def fedring_config_kwargs(spec: dict, root: Path) -> dict:
    """The fedring config both systems derive their workload from (shared with compare.py)."""
    part = {"scheme": spec["scheme"], "limit": spec.get("limit")}
    if spec["scheme"] == "dirichlet":
        part["alpha"] = spec.get("alpha", 0.5)
    return {
        "run": spec.get("run", "bench"),
        "seed": spec.get("seed", 0),
        "accounts": [{"name": account_name(i)} for i in range(spec["accounts"])],
        "partition": part,
        "training": {
            "rounds": spec["rounds"],
            "local_epochs": spec.get("local_epochs", 1),
            "batch_size": spec.get("batch_size", 64),
            "learning_rate": spec.get("learning_rate", 1e-3),
        },
        "secagg": {"secure": spec["mode"] == "secure"},
        # Flower's strategy evaluates centrally only: so does fedring here (the host's test set)
        "workload": {"name": "mnist", "federated_evaluation": False},
        "storage": {"kind": "local", "root": str(root)},
        # ``at_once`` worker processes, each training one account at a time on its share of the cores
        "execution": {"workers": at_once, "threads": max(1, (os.cpu_count() or 1) // at_once)}
        if (at_once := int(spec.get("at_once") or 0))
        else {},
    }
