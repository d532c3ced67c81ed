"""What every round does once its model is aggregated: evaluate, commit, report.

Shared by the secure round and the plaintext baseline: the stage clock, the
survivor check, and the tail (evaluate on the host's test set, if it has one → metrics,
with the federated evaluation → commit → progress event → table artifact), so both
rounds report the same way.
"""

from __future__ import annotations

import time

from prefect.artifacts import create_table_artifact

from fedring.config import FederationConfig
from fedring.errors import TooFewSurvivors
from fedring.lease import check_run
from fedring.report import rows
from fedring.round.party import Host
from fedring.storage import host_store
from flows.graph import step
from flows.progress import report
from tasks.model import evaluate
from tasks.run import commit


class StageClock:
    """Seconds per stage, and progress events as each stage ends."""

    def __init__(self, rnd: int) -> None:
        self.rnd, self.seconds, self._tick = rnd, {}, time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(self.seconds.get(stage, 0.0) + now - self._tick, 3)
        self._tick = now
        report(self.rnd, stage, done=True)


def require_survivors(rnd: int | str, stage: str, alive: list[str], everyone: list[str], threshold: int) -> None:
    """Fail the round, committing nothing, when fewer than ``threshold`` accounts are left."""
    if len(alive) < threshold:
        missing = [a for a in everyone if a not in alive]
        raise TooFewSurvivors(
            f"round {rnd} {stage}: {len(alive)} of {len(everyone)} accounts left, threshold {threshold}; "
            f"missing: {', '.join(missing)}. Nothing was committed."
        )


def finish_round(
    cfg: FederationConfig,
    rnd: int,
    model_key: str,
    clock: StageClock,
    *,
    host: Host | None,
    metas: dict[str, dict],
    training: dict,
    federated: dict | None,
    federated_previous: dict | None = None,
    participants: list[str],
    dropped: list[str],
    bytes_sent: dict[str, int],
    **extra: object,
) -> dict:
    """Evaluate the new model, commit the round with its metrics, report it; returns the manifest.

    ``metas`` are the participants' public metadata (samples, seconds); ``training`` the
    totals of their training sums and clipped coordinates (``loss_sum``, ``correct``,
    ``examples``, ``clipped``); ``federated`` the federated evaluation of the new model
    (None when the federation turned it off or a later round carries it);
    ``federated_previous`` that of the model the round started from, when the round carried
    it; ``host`` opens and signs a sealed model (None in the plaintext baseline).
    """
    evaluation = step(evaluate, cfg, model_key, rnd, host)
    clock.lap("evaluate")
    seen = training["examples"]
    metrics = {
        "round": rnd,
        **evaluation,
        **({"federated": federated} if federated is not None else {}),
        **({"federated_previous": federated_previous} if federated_previous is not None else {}),
        "train_loss": training["loss_sum"] / seen if seen else None,
        "train_accuracy": training["correct"] / seen if seen else None,
        "participants": participants,
        "dropped": dropped,
        "clipped": training["clipped"],
        "stage_seconds": clock.seconds,
        "train_seconds": {a: m["train_seconds"] for a, m in metas.items()},
        "bytes_sent": bytes_sent,
        **extra,
        "secure": host is not None,
    }
    metrics["seconds"] = sum(clock.seconds.values())
    check_run(host_store(cfg), cfg.run)  # RunBusy if another process took the run over: commit nothing
    manifest = step(commit, cfg, rnd, model_key, metrics, host)
    report(rnd, "commit", done=True, accuracy=evaluation.get("accuracy"),
           federated_accuracy=(federated or {}).get("accuracy"),
           previous_federated_accuracy=(federated_previous or {}).get("accuracy"))
    kind = "secure round" if host is not None else "round"
    create_table_artifact(key=f"{cfg.run}-round-{rnd}", table=rows(manifest["committed"]),
                          description=f"run {cfg.run} after {kind} {rnd}")
    return manifest
