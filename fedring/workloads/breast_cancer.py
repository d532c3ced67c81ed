"""Built-in ``breast-cancer``: the Wisconsin diagnostic table that scikit-learn ships, per account.

569 tumours, 30 numeric features, labels 0 = malignant, 1 = benign (W. Wolberg,
W. N. Street, O. Mangasarian, UCI; bundled in ``sklearn.datasets``, so it installs
offline). ``breast_cancer()`` is the workload (``TabularWorkload``, label column
``target``); ``write_account_tables`` is the data-preparation step of a simulation: one
table per account and split, to put into each account's bucket with ``fedring data put``::

    python -m fedring.workloads.breast_cancer OUT --accounts account-1 account-2 account-3 \\
        --scheme dirichlet --alpha 0.5
    fedring data put --account account-1 OUT/account-1      # -> data/train.csv, data/eval.csv
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fedring.errors import ConfigError
from fedring.ml.partition import partition
from fedring.workloads.tabular import TabularWorkload

LABEL = "target"
CLASSES = ("malignant", "benign")


def _frame():
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame


def breast_cancer(hidden: int = 0) -> TabularWorkload:
    """Logistic regression (``hidden=0``) or an MLP over the 30 features, standardised federatedly."""
    features = [c for c in _frame().columns if c != LABEL]
    return TabularWorkload(label=LABEL, features=features, classes=CLASSES, hidden=hidden)


def write_account_tables(
    out: Path,
    accounts: Sequence[str],
    *,
    scheme: str = "iid",
    alpha: float = 0.5,
    seed: int = 0,
    eval_fraction: float = 0.2,
    fmt: str = "csv",
) -> dict[str, dict[str, int]]:
    """Write ``out/<account>/train.<fmt>`` and ``eval.<fmt>``; return rows per account and split.

    ``scheme`` is ``iid`` or ``dirichlet`` (label skew, ``alpha``); the accounts' rows are
    disjoint and together are the whole table. Each account holds ``eval_fraction`` of its
    rows out for federated evaluation.
    """
    if not 0 < eval_fraction < 1 or fmt not in ("csv", "parquet"):
        raise ConfigError("eval_fraction must be in (0, 1) and fmt 'csv' or 'parquet'")
    frame = _frame()
    parts = partition(frame[LABEL].to_numpy(), len(accounts), scheme=scheme, seed=seed, alpha=alpha)
    rng = np.random.default_rng(seed)
    counts = {}
    for account, rows in zip(accounts, parts, strict=True):
        rows = rng.permutation(rows)
        held = max(1, round(eval_fraction * len(rows)))
        folder = out / account
        folder.mkdir(parents=True, exist_ok=True)
        for split, chosen in (("eval", rows[:held]), ("train", rows[held:])):
            table = frame.iloc[np.sort(chosen)]
            path = folder / f"{split}.{fmt}"
            table.to_parquet(path, index=False) if fmt == "parquet" else table.to_csv(path, index=False)
        counts[account] = {"train": len(rows) - held, "eval": held}
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write one breast-cancer table per account and split.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--accounts", nargs="+", default=["account-1", "account-2", "account-3"])
    parser.add_argument("--scheme", choices=("iid", "dirichlet"), default="iid")
    parser.add_argument("--alpha", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    args = parser.parse_args(argv)
    counts = write_account_tables(
        args.out, args.accounts, scheme=args.scheme, alpha=args.alpha, seed=args.seed, fmt=args.format
    )
    for account, split in counts.items():
        print(f"{args.out / account}: {split['train']} train, {split['eval']} eval rows")


if __name__ == "__main__":
    main()
