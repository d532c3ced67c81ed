"""Envelope benchmarks; one JSON object per line on stdout.

    .venv/bin/python benchmarks/bench_envelope.py                 # everything
    .venv/bin/python benchmarks/bench_envelope.py --only throughput --size-mib 256

Sections:

* ``aead``: the AES-256-GCM candidates on 1 MiB chunks (cryptography ``AESGCM.encrypt``,
  ``encrypt_into``, the Cipher API with ``update_into``; pycryptodome ``AES.MODE_GCM``,
  also into a preallocated ``output=``), so allocation and cipher cost can be told apart;
* ``throughput``: ``seal``/``open`` (streaming) and ``seal_bytes``/``open_bytes`` of one
  payload, each next to a one-shot AESGCM encrypt/decrypt of the same bytes in the same
  run (best of ``--repeat``), and their ratio;
* ``memory``: extra memory while sealing and opening ``--memory-gib`` GiB streamed from a
  generator-backed reader to a file and back to a discarding sink, each in a fresh child
  process: tracemalloc peak, and peak RSS (VmHWM, reset first) minus RSS before;
* ``wraps``: the per-attribute cost of wrapping (seal) and unwrapping (open) the content
  key, for one clause of n attributes and for n clauses of one attribute, n = 1, 4, 16.

The machine is shared: compare ratios measured side by side, not absolute figures.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from Crypto.Cipher import AES

from fedring import envelope
from fedring.keys import Authority, KeyRing, PublicDirectory

MiB = 1 << 20
CTX = {"run": "bench", "round": 1, "stage": "commit"}


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def gbps(nbytes: int, seconds: float) -> float:
    return round(nbytes / seconds / 1e9, 3)


def world(n: int = 1) -> tuple[Authority, KeyRing, PublicDirectory]:
    authority = Authority.create("bench")
    ring = KeyRing(authority.issue(f"a{i}") for i in range(n))
    return authority, ring, PublicDirectory.from_documents([authority.public_document()])


def bench_aead(repeat: int) -> None:
    key, nonce, data = os.urandom(32), os.urandom(12), os.urandom(MiB)
    out = bytearray(MiB + 16)
    aes = AESGCM(key)

    def cipher_update_into() -> None:
        enc = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(b"aad")
        enc.update_into(data, out)
        enc.finalize()

    def pycryptodome() -> None:
        AES.new(key, AES.MODE_GCM, nonce=nonce).update(b"aad").encrypt_and_digest(data)

    def pycryptodome_output() -> None:
        cipher = AES.new(key, AES.MODE_GCM, nonce=nonce)
        cipher.update(b"aad")
        cipher.encrypt(data, output=memoryview(out)[:MiB])
        cipher.digest()

    candidates = {
        "cryptography AESGCM.encrypt": lambda: aes.encrypt(nonce, data, b"aad"),
        "cryptography AESGCM.encrypt_into": lambda: aes.encrypt_into(nonce, data, b"aad", out),
        "cryptography Cipher.update_into": cipher_update_into,
        "pycryptodome AES.MODE_GCM": pycryptodome,
        "pycryptodome AES.MODE_GCM output=": pycryptodome_output,
    }
    for name, fn in candidates.items():
        fn()
        rounds = 64
        seconds = best(lambda: [fn() for _ in range(rounds)], repeat)  # noqa: B023
        emit(section="aead", impl=name, chunk_bytes=MiB, gb_per_s=gbps(rounds * MiB, seconds))


def bench_throughput(size: int, repeat: int) -> None:
    _, ring, directory = world()
    data = os.urandom(size)
    aes, nonce = AESGCM(os.urandom(32)), os.urandom(12)
    one_shot_ct = aes.encrypt(nonce, data, None)
    blob = bytes(envelope.seal_bytes("bench:a0", directory, data, context=CTX))  # BytesIO
    # copies a bytearray but shares bytes: keep the copy out of the timed region

    class Null(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b) -> int:  # type: ignore[no-untyped-def]
            return len(b)

    pairs = {
        "seal": (lambda: envelope.seal("bench:a0", directory, io.BytesIO(data), Null(), context=CTX),
                 lambda: aes.encrypt(nonce, data, None)),
        "open": (lambda: envelope.open(ring, io.BytesIO(blob), Null(), context=CTX),
                 lambda: aes.decrypt(nonce, one_shot_ct, None)),
        "seal_bytes": (lambda: envelope.seal_bytes("bench:a0", directory, data, context=CTX),
                       lambda: aes.encrypt(nonce, data, None)),
        "open_bytes": (lambda: envelope.open_bytes(ring, blob, context=CTX),
                       lambda: aes.decrypt(nonce, one_shot_ct, None)),
    }
    # The one-shot call allocates its 256 MiB result, which costs page faults; the
    # "_into" variant writes into a buffer touched beforehand: the cipher's own limit.
    into = bytearray(size + 16)
    into_base = {
        "seal": lambda: aes.encrypt_into(nonce, data, None, into),
        "open": lambda: aes.decrypt_into(nonce, one_shot_ct, None, memoryview(into)[:size]),
    }
    for name, (ours, baseline) in pairs.items():
        t_ours, t_base, t_into = [], [], []
        for _ in range(repeat):  # interleave, so all see the same machine load
            t_ours.append(best(ours, 1))
            t_base.append(best(baseline, 1))
            t_into.append(best(into_base[name.split("_")[0]], 1))
        emit(section="throughput", op=name, payload_mib=size // MiB,
             envelope_gb_per_s=gbps(size, min(t_ours)),
             one_shot_aesgcm_gb_per_s=gbps(size, min(t_base)),
             ratio=round(min(t_base) / min(t_ours), 3),
             one_shot_into_preallocated_gb_per_s=gbps(size, min(t_into)),
             ratio_vs_preallocated=round(min(t_into) / min(t_ours), 3),
             aead="cryptography AESGCM (OpenSSL)")


def _generated(total: int, block: int = MiB) -> io.RawIOBase:
    """A reader that makes ``total`` bytes on demand (never holds more than ``block``)."""

    class Gen(io.RawIOBase):
        def __init__(self) -> None:
            self.left, self.pattern = total, bytes(range(256)) * (block // 256)

        def readable(self) -> bool:
            return True

        def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
            n = min(len(b), self.left, len(self.pattern))
            b[:n] = self.pattern[:n]
            self.left -= n
            return n

    return Gen()


def memory_child(op: str, gib: float, path: str) -> None:
    """Run in a fresh process: measure one streaming seal or open of ``gib`` GiB."""
    total = int(gib * (1 << 30))
    if op == "seal":  # the open child needs the same keys: hand them over in the temp dir
        _, ring, directory = world()
        with open(path + ".ring.json", "w") as f:
            f.write(ring.to_json())
    else:
        with open(path + ".ring.json") as f:
            ring = KeyRing.from_json(f.read())

    class Null(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b) -> int:  # type: ignore[no-untyped-def]
            return len(b)

    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    base_vm = _proc_status("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:  # reset VmHWM (the peak RSS) to VmRSS
        f.write("5")
    tracemalloc.start()
    t = time.perf_counter()
    if op == "seal":
        with open(path, "wb") as sink:
            envelope.seal("bench:a0", directory, _generated(total), sink, context=CTX)
    else:
        with open(path, "rb") as source:
            envelope.open(ring, source, Null(), context=CTX)
    seconds = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss survives fork+exec on Linux (it may show the parent's peak), so the
    # peak-RSS delta comes from /proc: VmHWM after the run minus VmRSS before it.
    emit(section="memory", op=op, payload_gib=gib, tracemalloc_peak_mib=round(peak / MiB, 2),
         peak_rss_delta_mib=round((_proc_status("VmHWM") - base_vm) / 1024, 2),
         rss_before_mib=round(base_vm / 1024, 1),
         ru_maxrss_delta_mib=round((after - base_rss) / 1024, 2),
         gb_per_s_with_disk=gbps(total, seconds))


def _proc_status(field: str) -> int:
    """A kB figure from /proc/self/status (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def bench_memory(gib: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "envelope")
        for op in ("seal", "open"):
            subprocess.run([sys.executable, __file__, "--memory-child", op, "--memory-gib",
                            str(gib), "--path", path], check=True)


def bench_wraps(repeat: int) -> None:
    for n in (1, 4, 16):
        _, ring, directory = world(n)
        attrs = [f"bench:a{i}" for i in range(n)]
        for shape, policy in (("one clause of n", " and ".join(attrs)),
                              ("n clauses of one", " or ".join(attrs))):
            seal_s = best(lambda: envelope.seal_bytes(policy, directory, b"", context=CTX), repeat)  # noqa: B023
            blob = envelope.seal_bytes(policy, directory, b"", context=CTX)
            open_s = best(lambda: envelope.open_bytes(ring, blob, context=CTX), repeat)  # noqa: B023
            opened = n if shape == "one clause of n" else 1  # open unwraps one clause only
            emit(section="wraps", attributes=n, shape=shape,
                 header_bytes=envelope.read_header_bytes(blob).length,
                 seal_us=round(seal_s * 1e6), seal_us_per_wrap=round(seal_s * 1e6 / n),
                 open_us=round(open_s * 1e6), open_us_per_unwrap=round(open_s * 1e6 / opened))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--only", choices=["aead", "throughput", "memory", "wraps"], action="append")
    p.add_argument("--size-mib", type=int, default=256)
    p.add_argument("--memory-gib", type=float, default=1.0)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--memory-child", choices=["seal", "open"], help=argparse.SUPPRESS)
    p.add_argument("--path", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.memory_child:
        return memory_child(args.memory_child, args.memory_gib, args.path)
    sections = args.only or ["aead", "wraps", "throughput", "memory"]
    if "aead" in sections:
        bench_aead(args.repeat)
    if "wraps" in sections:
        bench_wraps(args.repeat)
    if "throughput" in sections:
        bench_throughput(args.size_mib * MiB, args.repeat)
    if "memory" in sections:
        bench_memory(args.memory_gib)


if __name__ == "__main__":
    main()
