"""One log line per client stage, in the run logger (shown in the Prefect UI)."""

from __future__ import annotations

from prefect import get_run_logger


def log_stage(account: str, rnd: int | str, stage: str, result: dict) -> None:
    how = "reused" if result.get("reused") else "done"
    get_run_logger().info("account %s round %s %s: %s", account, rnd, stage, how)
