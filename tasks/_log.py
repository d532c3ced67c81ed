"""One log line per client stage, in the run logger (shown in the Prefect UI)."""

from __future__ import annotations

from prefect import get_run_logger


def log_stage(account: str, rnd: int | str, stage: str, result: dict) -> None:
    how = "reused" if result.get("reused") else "done"
    if "samples" in result and "train_seconds" in result:  # contribute: what the training did
        how += f", trained on {result['samples']} images in {result['train_seconds']:.2f} s"
    get_run_logger().info("account %s round %s %s: %s", account, rnd, stage, how)
