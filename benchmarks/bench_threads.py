"""Training speed of the reference CNN by thread count and allocator setting, each in a fresh process.

Why: two things decide what parallel client stages can gain on a machine (issue 18):
torch's own speed-up from one thread to two (a worker per core only wins what a second
thread loses), and the worker's environment. Dask's default worker environment sets
``MALLOC_TRIM_THRESHOLD_=65536``, which also turns off glibc's adaptive mmap threshold,
so every activation tensor comes from a fresh mmap; fedring's local cluster leaves it
unset (``flows/execution.py``). This script shows both, on real MNIST: Adam, batch 64,
the first ``--images`` training images, one pass, images per second.

    .venv/bin/python benchmarks/bench_threads.py
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def train(threads: int, images: int) -> float:
    """Images per second of one pass of the reference CNN at ``threads`` torch threads."""
    sys.path.insert(0, str(ROOT))
    import torch

    from fedring.ml.data import load_mnist
    from fedring.ml.model import build_model

    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    data, _ = load_mnist()
    x = torch.tensor(data.images[:images], dtype=torch.float32).reshape(-1, 1, 28, 28) / 255.0
    y = torch.tensor(data.labels[:images], dtype=torch.long)
    torch.manual_seed(0)
    model = build_model()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    start = time.perf_counter()
    for i in range(0, images, 64):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x[i:i + 64]), y[i:i + 64]).backward()
        opt.step()
    return images / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=6000)
    ap.add_argument("--job", nargs=2, type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.job:
        print(json.dumps({"img_per_s": train(*args.job)}))
        return
    rates = {}
    for trim in (None, "65536"):
        for threads in (1, 2):
            env = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
            if trim:
                env["MALLOC_TRIM_THRESHOLD_"] = trim
            out = subprocess.run([sys.executable, __file__, "--images", str(args.images), "--job", str(threads),
                                  str(args.images)], env=env, capture_output=True, text=True, check=True).stdout
            rate = json.loads(out.strip().splitlines()[-1])["img_per_s"]
            rates[(trim, threads)] = rate
            print(json.dumps({"bench": "threads", "threads": threads, "malloc_trim_threshold": trim,
                              "images": args.images, "img_per_s": round(rate)}), flush=True)
    print(json.dumps({"bench": "threads", "what": "torch speed-up, 1 -> 2 threads (glibc defaults)",
                      "ratio": round(rates[(None, 2)] / rates[(None, 1)], 2)}), flush=True)
    for threads in (1, 2):
        print(json.dumps({"bench": "threads", "what": f"slowdown of MALLOC_TRIM_THRESHOLD_=65536 at {threads} thread(s)",
                          "ratio": round(rates[(None, threads)] / rates[("65536", threads)], 2)}), flush=True)


if __name__ == "__main__":
    main()
