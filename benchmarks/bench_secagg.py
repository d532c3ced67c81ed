"""Benchmarks of fedring.secagg; prints one JSON object per line.

    .venv/bin/python benchmarks/bench_secagg.py                 # everything (a few minutes)
    .venv/bin/python benchmarks/bench_secagg.py --only prg comm

Sections:
  prg     keystream throughput (GB/s per core): keystream_u32, add_keystream,
          and pycryptodome's AES-CTR on the same key, side by side
  comm    bytes an account sends per round / its float32 update size
          (10 accounts, 1M parameters), next to SecAgg's reported 1.73x
  ratio   secure aggregation vs a plain float32 weighted sum of the same updates
          (10 and 100 accounts, 1M parameters), and host-side peak memory (tracemalloc)
  scale   1,000 accounts, 100k parameters, k-regular graph, 5% dropouts
  flows   the same 1,000 accounts (degree 40, 4 rings, t = 27) through the flows on the
          parallel path: real training on 60 MNIST images each, sealing, storage, Prefect,
          client stages in worker processes (bench_parallel.py's scale section; about 40
          minutes and 17 GB of memory here: not in the default set)
Timings are wall-clock on a shared 2-core machine: compare ratios, not absolutes.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import time
import tracemalloc

import numpy as np

from fedring.secagg.prg import add_keystream, keystream_u32
from fedring.secagg.simulate import simulate

# the package re-exports the function simulate under the module's name: fetch the module itself
sim_mod = importlib.import_module("fedring.secagg.simulate")

SECAGG_PAPER_EXPANSION = 1.73  # Bonawitz et al. 2017, 2^10 users, 2^20 entries (their Table/Fig. on communication)


def emit(**kw):
    print(json.dumps(kw), flush=True)


def pool_updates(d: int, size: int = 4, seed: int = 0):
    """A few random float32 updates reused by every account: inputs need not be distinct to time the protocol."""
    rng = np.random.default_rng(seed)  # benchmark data only
    pool = [rng.normal(0, 0.05, d).astype(np.float32) for _ in range(size)]
    return lambda name: pool[int(name.rsplit("-", 1)[1]) % size]


def names(n):
    return [f"acc-{i:04d}" for i in range(n)]


def bench_prg():
    n = 1 << 24  # 64 MiB of keystream per call
    seed = os.urandom(32)
    out = np.empty(n, np.uint32)
    keystream_u32(seed, n, out=out)
    best = min(_timed(lambda: keystream_u32(seed, n, out=out)) for _ in range(5))
    emit(bench="prg", what="keystream_u32", gb_per_s=round(4 * n / best / 1e9, 2), target_gb_per_s=1.0)
    acc = np.zeros(1 << 20, np.uint32)
    best = min(_timed(lambda: [add_keystream(acc, seed) for _ in range(16)]) for _ in range(5))
    emit(bench="prg", what="add_keystream (1M words, in place)", gb_per_s=round(16 * 4 * acc.size / best / 1e9, 2))
    from Crypto.Cipher import AES

    zeros = bytes(4 * n)
    best = min(_timed(lambda: AES.new(seed, AES.MODE_CTR, nonce=b"", initial_value=bytes(16)).encrypt(zeros)) for _ in range(5))
    emit(bench="prg", what="pycryptodome AES-CTR encrypt (same key, for comparison)", gb_per_s=round(4 * n / best / 1e9, 2))


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_comm():
    d, n = 1 << 20, 10
    roster = names(n)
    res = simulate(pool_updates(d), roster=roster, weights=dict.fromkeys(roster, 1.0), threshold=6, clip=8.0, frac_bits=24)
    ratios = [b / (4 * d) for b in res.bytes_sent.values()]
    emit(bench="comm", accounts=n, params=d, graph="complete", threshold=6,
         bytes_per_account_max=max(res.bytes_sent.values()), float32_update_bytes=4 * d,
         expansion_max=round(max(ratios), 5), expansion_mean=round(sum(ratios) / n, 5),
         target=1.05, secagg_paper_expansion=SECAGG_PAPER_EXPANSION,
         counted="masked uint32 partial sum (sealed), public key, one sealed share blob per holder, "
                 "revealed shares to host; envelope allowance 100 B header + 16 B/MiB tag + 120 B per wrapped key")


class HostPeak:
    """Wraps unmask: times it untraced, then reruns it on copies under tracemalloc for the peak.

    tracemalloc slows every allocation (GF(2^128) big-int arithmetic allocates a lot), so the
    timing run and the memory run are separate.
    """

    def __init__(self):
        self.peak = 0
        self.seconds = 0.0
        self.inner = sim_mod.unmask

    def __call__(self, ring_sums, **kw):
        copies = [s.copy() for s in ring_sums]
        t0 = time.perf_counter()
        out = self.inner(ring_sums, **kw)
        self.seconds = time.perf_counter() - t0
        tracemalloc.start()
        try:
            self.inner(copies, **kw)
            _, self.peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return out


def bench_ratio():
    d = 1 << 20
    for n, degree, rings in ((10, None, 1), (100, None, 1), (100, None, 4), (100, 20, 1)):
        roster = names(n)
        get = pool_updates(d)
        weights = {a: float(50 + i % 7) for i, a in enumerate(roster)}
        total_w = sum(weights.values())
        def plain_sum():
            acc = np.zeros(d, np.float32)
            for a in roster:
                acc += np.float32(weights[a] / total_w) * get(a)
            return acc

        plain = min(_timed(plain_sum) for _ in range(3))  # best of 3: the baseline is short and noisy
        holders = n if degree is None else degree + 1
        t = holders // 2 + 1
        drop = set(roster[:: max(1, n // 5)][:2]) if n >= 10 else set()
        peak = HostPeak()
        sim_mod.unmask = peak
        try:
            res = simulate(get, roster=roster, weights=weights, threshold=t, clip=8.0, frac_bits=24, rings=rings, degree=degree, dropped_in_ring=drop)
        finally:
            sim_mod.unmask = peak.inner
        res.timings["unmask"] = peak.seconds  # the untraced run
        secure = sum(res.timings.values())  # all stages of all accounts, one after another
        emit(bench="ratio", accounts=n, params=d, graph="complete" if degree is None else f"{degree}-regular", threshold=t,
             rings=rings, dropped=len(drop), plain_float_sum_s=round(plain, 4), secure_total_s=round(secure, 2),
             time_ratio=round(secure / plain, 1),
             host_s=round(res.timings["unmask"] + res.timings["dequantise"], 3),
             host_time_ratio=round((res.timings["unmask"] + res.timings["dequantise"]) / plain, 1),
             stage_s={k: round(v, 3) for k, v in res.timings.items()},
             mask_s_per_account=round(float(np.mean(res.mask_seconds)), 4),
             host_ring_sums_bytes=rings * 4 * d, host_unmask_peak_extra_bytes=peak.peak,
             host_bytes_per_update_bytes=round((rings * 4 * d + peak.peak) / (4 * d), 3))


def bench_scale():
    n, d, degree, rings = 1000, 100_000, 40, 4
    t = 27  # of 41 holders (40 neighbours and itself): a 2/3 majority
    roster = names(n)
    order = sorted(roster, key=lambda a: os.urandom(8))  # which accounts drop: any 5%
    before, in_ring = set(order[:25]), set(order[25:50])
    t0 = time.perf_counter()
    res = simulate(pool_updates(d), roster=roster, weights=dict.fromkeys(roster, 1.0), threshold=t, clip=8.0, frac_bits=24,
                   degree=degree, rings=rings, dropped_before_mask=before, dropped_in_ring=in_ring)
    total = time.perf_counter() - t0
    emit(bench="scale", accounts=n, params=d, graph=f"{degree}-regular", threshold=t, rings=rings, dropped=len(res.dropped),
         survivors=len(res.survivors), total_s=round(total, 1),
         mask_s_per_account=round(float(np.mean(res.mask_seconds)), 4),
         share_s_per_account=round(res.timings["share"] / n, 4),
         unmask_host_s=round(res.timings["unmask"], 2), stage_s={k: round(v, 2) for k, v in res.timings.items()},
         expansion_max=round(max(res.bytes_sent.values()) / (4 * d), 4))


def bench_flows(accounts: int = 1000, per_account: int = 60):
    """bench_scale's roster through the real round, in worker processes; prints bench_parallel's JSON line."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).with_name("bench_parallel.py")
    cmd = [sys.executable, str(script), "--only", "scale", "--scale-accounts", str(accounts), "--scale-per-account",
           str(per_account), "--degree", "40", "--rings", "4", "--threshold", "27"]
    for line in subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.splitlines():
        if '"section": "scale"' in line:
            print(line, flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="*", choices=["prg", "comm", "ratio", "scale", "flows"], default=["prg", "comm", "ratio", "scale"])
    args = p.parse_args()
    emit(bench="machine", python=platform.python_version(), cpus=os.cpu_count(), load=os.getloadavg())
    for name in args.only:
        globals()[f"bench_{name}"]()


if __name__ == "__main__":
    main()
