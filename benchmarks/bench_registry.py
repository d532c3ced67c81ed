"""Model registry benchmarks; one JSON object per line on stdout.

    .venv/bin/python benchmarks/bench_registry.py [--run-dir DIR] [--run RUN] [--repeat N]

Uses the committed run in ``DIR`` (``DIR/storage``, keys in ``DIR/keys``); if there is none,
trains one first with ``fedring demo --rounds 1 --limit 900`` (1-3 minutes here). Then:

* ``publish``: seconds for ``share`` (open the round model as host, seal, sign, write);
* ``size``: envelope bytes against the float32 weights (target: at most 1 % more);
* ``predict_cold``: ``fedring predict --json`` on 1,000 test images (one .npy) in a fresh
  process, end to end (interpreter, imports, verify, open, build, infer), best of --repeat;
  and the phases inside one fresh interpreter (import, load = fetch + verify + open +
  build, infer);
* ``accuracy``: the opened model on the 10,000 test images against the card's accuracy;
* ``verify`` and ``rewrap``: keyless verification of every version, and one revocation
  (rotate + rewrap of every version), in seconds.

The machine is shared: absolute seconds vary with its load.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FEDRING = [sys.executable, "-c", "from fedring.cli import main; main()"]
ATTR = "account-1:bench"


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def cli(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([*FEDRING, *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=900)


def ensure_run(run_dir: Path, run: str) -> None:
    if (run_dir / "storage" / "fedring-host" / "runs" / run).is_dir():
        return
    env = dict(os.environ, PREFECT_HOME=tempfile.mkdtemp(prefix="bench-prefect-"))
    atexit.register(shutil.rmtree, env["PREFECT_HOME"], ignore_errors=True)
    subprocess.run([*FEDRING, "demo", "--rounds", "1", "--limit", "900", "--run", run, "--run-dir", str(run_dir)],
                   cwd=REPO, env=env, check=True, capture_output=True, timeout=1800)


PHASES = """
import sys, time, json
t0 = time.perf_counter()
import numpy as np
from fedring.registry import load_model, predict
from fedring.registry.locate import host_bucket
from pathlib import Path
t1 = time.perf_counter()
shared = load_model(host_bucket(Path(sys.argv[1])), sys.argv[2], sys.argv[3])
t2 = time.perf_counter()
digits, probs = predict(shared.module, np.load(sys.argv[4]))
t3 = time.perf_counter()
print(json.dumps({"import_seconds": t1 - t0, "load_seconds": t2 - t1, "infer_seconds": t3 - t2,
                  "images": len(digits), "prefect_loaded": "prefect" in sys.modules}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", type=Path, default=REPO / "runs" / "bench-registry")
    parser.add_argument("--run", default="bench-registry")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ensure_run(args.run_dir, args.run)
    root, keys = args.run_dir / "storage", args.run_dir / "keys"
    work = Path(tempfile.mkdtemp(prefix="bench-registry-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    consumer = work / "consumer"
    assert cli("authority", "issue", ATTR, "-a", keys / "account-1", "--to", consumer).returncode == 0

    from fedring.ml.data import load_mnist
    from fedring.ml.train import evaluate
    from fedring.registry import load_model, verify_all
    from fedring.registry.locate import federation, host_bucket
    from fedring.registry.publish import share

    cfg = federation(None, root, args.run)
    t = time.perf_counter()
    published = share(cfg, model="bench", policy=ATTR,
                      public_documents=[json.loads((keys / "account-1" / "public.json").read_text())])
    emit(bench="publish", seconds=round(time.perf_counter() - t, 4), version=published.version)
    overhead = published.envelope_bytes / published.weights_bytes - 1
    emit(bench="size", weights_bytes=published.weights_bytes, envelope_bytes=published.envelope_bytes,
         overhead_percent=round(100 * overhead, 4), target_percent=1.0, ok=overhead <= 0.01)

    _, test = load_mnist()
    images = work / "test1000.npy"
    np.save(images, test.images[:1000])
    ref = f"bench:{published.version}"
    best, rows = float("inf"), []
    for _ in range(args.repeat):
        t = time.perf_counter()
        done = cli("predict", "--json", "--storage-root", root, "-m", ref, "-k", consumer, images)
        best = min(best, time.perf_counter() - t)
        rows = json.loads(done.stdout)["predictions"]
    correct = sum(r["digit"] == int(y) for r, y in zip(rows, test.labels[:1000]))
    emit(bench="predict_cold", images=len(rows), seconds=round(best, 3), accuracy_1000=correct / len(rows),
         what="fedring predict --json in a fresh process, best of %d" % args.repeat)
    phases = subprocess.run([sys.executable, "-c", PHASES, str(root), ref, str(consumer), str(images)],
                            cwd=REPO, capture_output=True, text=True, check=True)
    emit(bench="predict_phases", **{k: (round(v, 4) if isinstance(v, float) else v)
                                    for k, v in json.loads(phases.stdout).items()})

    store = host_bucket(root)
    shared = load_model(store, ref, consumer)
    accuracy, loss = evaluate(shared.module, test.images, test.labels)
    emit(bench="accuracy", test_images=len(test.labels), accuracy=accuracy, card_accuracy=shared.card["accuracy"],
         equal=accuracy == shared.card["accuracy"], loss=loss, card_loss=shared.card["loss"])

    t = time.perf_counter()
    report = verify_all(store)
    emit(bench="verify", versions=len(report.results), ok=report.ok, seconds=round(time.perf_counter() - t, 4))
    from fedring.registry.revoke import revoke

    t = time.perf_counter()
    rewrap = revoke(cfg, attribute=ATTR)
    emit(bench="rewrap", rotated_to_epoch=rewrap.epoch, versions=len(rewrap.rewrapped),
         seconds=round(time.perf_counter() - t, 4), still_served=len(rewrap.still_served))


if __name__ == "__main__":
    main()
