"""Write each account's digit images as PNG folders, ready for `fedring data put`.

Uses scikit-learn's bundled handwritten digits (1,797 images, 8x8, offline). In a real
federation each organisation already has its images; this only simulates that::

    python prepare.py prepared --accounts account-1 account-2 account-3 [--skew]
    -> prepared/<account>/train/<digit>/<n>.png and prepared/<account>/eval/<digit>/<n>.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits


def prepare(out: Path, accounts: list[str], *, skew: bool = False, seed: int = 0, eval_fraction: float = 0.2) -> dict:
    digits = load_digits()
    pixels = np.clip(digits.images * 16, 0, 255).astype(np.uint8)  # 0..16 -> 0..255 grey
    rng = np.random.default_rng(seed)
    if skew:  # each account gets most of its images from a few digits
        weights = rng.dirichlet(np.full(len(accounts), 0.5), size=10)
        owner = np.array([rng.choice(len(accounts), p=weights[label]) for label in digits.target])
    else:
        owner = rng.permutation(len(digits.target)) % len(accounts)
    counts = {}
    for a, account in enumerate(accounts):
        rows = rng.permutation(np.flatnonzero(owner == a))
        held = int(round(eval_fraction * len(rows)))
        for split, chosen in (("eval", rows[:held]), ("train", rows[held:])):
            for i in chosen:
                folder = out / account / split / str(digits.target[i])
                folder.mkdir(parents=True, exist_ok=True)
                Image.fromarray(pixels[i]).save(folder / f"{i:04d}.png")
        counts[account] = {"train": len(rows) - held, "eval": held}
    return counts


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--accounts", nargs="+", default=["account-1", "account-2", "account-3"])
    ap.add_argument("--skew", action="store_true", help="label-skewed accounts instead of IID")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    for account, n in prepare(args.out, args.accounts, skew=args.skew, seed=args.seed).items():
        print(f"{args.out / account}: {n['train']} train, {n['eval']} eval images")
