"""Tasks of the plaintext baseline round (FedAvg without secure aggregation)."""

from __future__ import annotations

from prefect import get_run_logger, task

from fedring.config import FederationConfig
from fedring.round.plain import plain_aggregate, plain_contribute
from fedring.storage import owner_store
from tasks._retry import RETRY_OPTIONS


@task(name="train", task_run_name="train-{account}-round-{rnd}", persist_result=False, **RETRY_OPTIONS)
def train_plain(cfg: FederationConfig, account: str, rnd: int) -> dict:
    """Train on the account's partition and publish the updated model in its outbox."""
    meta = plain_contribute(owner_store(cfg, account), run=cfg.run, rnd=rnd, training=cfg.training, seed=cfg.seed)
    get_run_logger().info("account %s round %d train: loss %.4f on %d images", account, rnd, meta["loss"], meta["samples"])
    return meta


@task(name="aggregate", task_run_name="aggregate-round-{rnd}", persist_result=False, **RETRY_OPTIONS)
def aggregate_plain(cfg: FederationConfig, rnd: int, participants: list[str]) -> tuple[str, dict[str, dict]]:
    """FedAvg of the participants' published models: the host key of the result, and their metadata."""
    return plain_aggregate(cfg, rnd, participants)
