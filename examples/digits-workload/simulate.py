"""Plain FedAvg of this workload over the accounts of a federation file, in one process.

Reads each account's data from its own bucket (as `fedring data put` left it) through the
workload's verbs, averages the models, and sums the evaluation counts as exact integers:
what the secure round will do, without the masks. Until the round reads the workload
from the federation file, this is how to run the workload end to end::

    python simulate.py --config federation.yaml --rounds 5
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fedring.config import load_config
from fedring.storage import owner_store
from fedring.workloads import resolve_workload
from fedring.workloads.simulate import federated_average


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, default=Path("federation.yaml"))
    ap.add_argument("--workload", default="digits_workload.workload:DigitsWorkload")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--learning-rate", type=float, help="default: the federation file's training.learning_rate")
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    stores = {a.name: owner_store(cfg, a.name) for a in cfg.accounts}  # one process holds every bucket: a simulation
    lr = args.learning_rate or cfg.training.learning_rate
    training = cfg.training.model_copy(update={"rounds": args.rounds, "learning_rate": lr})
    sim = federated_average(resolve_workload(args.workload), stores, training=training, seed=cfg.seed)
    print("round  accuracy  top-2     mean loss  (federated evaluation over every account's eval split)")
    for r in sim.rounds:
        e = r.evaluation
        print(f"{r.rnd:5d}  {e.accuracy:8.2%}  {e.extra['top2_correct'] / e.examples:8.2%}  {e.mean_loss:9.4f}")


if __name__ == "__main__":
    main()
