"""How long the host waits for an account's answer to a stage request (agent mode).

A fixed deadline per stage when the federation file sets one (``deadlines.stages``); else
``deadlines.default_seconds`` for every stage but contribute, whose deadline follows the
account's measured training time: ``training_factor`` times its training seconds in the
last committed round, plus ``default_seconds`` for what is not training (loading the model,
masking, the orchestration). Before anything was measured (a run's first round) it is
``first_training_seconds``. An account dropped in the last round has no measurement: the
slowest account's is used.
"""

from __future__ import annotations

from fedring.config import DeadlineConfig


def deadline_seconds(deadlines: DeadlineConfig, stage: str, account: str, last_round: dict | None) -> float:
    """Seconds the host gives ``account`` for ``stage``; ``last_round`` is the last committed round's metrics."""
    if stage in deadlines.stages:
        return deadlines.stages[stage]
    if stage != "contribute":
        return deadlines.default_seconds
    measured = {a: float(s) for a, s in ((last_round or {}).get("train_seconds") or {}).items()}
    seconds = measured.get(account, max(measured.values(), default=None))
    if seconds is None:
        return deadlines.first_training_seconds
    return deadlines.training_factor * seconds + deadlines.default_seconds
