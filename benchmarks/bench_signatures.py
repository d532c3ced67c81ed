"""What the dishonest-host checks cost one account per round: signatures made and verified.

Simulates the statements one account handles in a secure round of N accounts (the real
protocol functions on in-memory statements, no stores): the N advertisements it checks
once, the k shares it accepts, one partial sum, the majority of signatures over the
survivor set it checks before revealing, and its signed outputs; and, once per run, the
N + 1 signed public-key documents of the directory it accepts (then keeps). Prints one
JSON line per N: milliseconds per round per account, the directory's once-per-run cost,
and the number of signatures verified and made.

    .venv/bin/python benchmarks/bench_signatures.py --accounts 10 100
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fedring.keys import Identity, KeyRing, PublicDirectory, new_account_keys, signed  # noqa: E402
from fedring.keys.signed import canonical  # noqa: E402
from fedring.layout import Stage  # noqa: E402
from fedring.round.party import Party, public_document, verified_directory  # noqa: E402
from fedring.round.wire import survivor_set  # noqa: E402


def one_round(n: int, degree: int | None) -> dict:
    names = [f"a{i:03d}" for i in range(n)]
    ids = {a: Identity.create(a) for a in names}
    pins = {a: i.signing_public for a, i in ids.items()}
    docs = {a: public_document(new_account_keys(a)[0], ids[a]) for a in names}
    me = names[0]
    party = Party(me, None, KeyRing(), PublicDirectory(), "bench", ids[me], pins)  # type: ignore[arg-type]
    adverts = {a: signed.sign(ids[a], Stage.ADVERTISE, canonical({"public_key": "00" * 32}), {"run": "bench", "round": 1})
               for a in names}
    k = n - 1 if degree is None else degree
    shares = {a: signed.sign(ids[a], Stage.SHARES, b"\0" * 200, {"run": "bench", "round": 1, "to": me}) for a in names[1 : k + 1]}
    partial = signed.sign(ids[names[1]], Stage.RING_HOP, b"\0" * 1024, {"run": "bench", "round": 1, "to": me})
    body = survivor_set(names, [], model="m", view="v")
    majority = n // 2 + 1
    consistency = {a: signed.sign(ids[a], Stage.CONSISTENCY, body, {"run": "bench", "round": 1}) for a in names[:majority]}

    start = time.perf_counter()
    verified_directory(docs, pins)
    directory_seconds = time.perf_counter() - start

    start = time.perf_counter()
    for a, blob in adverts.items():
        party.verify(blob, Stage.ADVERTISE, a, rnd=1)
    for a, blob in shares.items():
        party.verify(blob, Stage.SHARES, a, rnd=1, to=me)
    party.verify(partial, Stage.RING_HOP, names[1], rnd=1, to=me)
    for a, blob in consistency.items():
        party.verify(blob, Stage.CONSISTENCY, a, rnd=1)
    verify_seconds = time.perf_counter() - start

    start = time.perf_counter()
    made = [party.sign(Stage.ADVERTISE, b"x" * 200, rnd=1), party.sign(Stage.RING_HOP, b"x" * 1024, rnd=1, to="host"),
            party.sign(Stage.CONSISTENCY, body, rnd=1), party.sign(Stage.REVEAL, b"x" * 500, rnd=1, to="host")]
    made += [party.sign(Stage.SHARES, b"x" * 200, rnd=1, to=a) for a in names[1 : k + 1]]
    sign_seconds = time.perf_counter() - start
    verified = n + len(shares) + 1 + len(consistency)
    return {
        "bench": "signatures", "accounts": n, "degree": degree, "verified": verified, "made": len(made),
        "verify_ms_per_round_per_account": round(1000 * verify_seconds, 2),
        "sign_ms_per_round_per_account": round(1000 * sign_seconds, 2),
        "ms_per_round_per_account": round(1000 * (verify_seconds + sign_seconds), 2),
        "directory_ms_once_per_run": round(1000 * directory_seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--degree", type=int, default=None, help="neighbour-graph degree (default: complete graph)")
    parser.add_argument("--repeat", type=int, default=3, help="report the median of this many runs")
    args = parser.parse_args()
    for n in args.accounts:
        runs = sorted((one_round(n, args.degree) for _ in range(args.repeat)), key=lambda r: r["ms_per_round_per_account"])
        print(json.dumps(runs[len(runs) // 2]), flush=True)


if __name__ == "__main__":
    main()
