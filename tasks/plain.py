"""Tasks of the plaintext baseline round (FedAvg without secure aggregation)."""

from __future__ import annotations

from prefect import get_run_logger, task

from fedring.config import FederationConfig
from fedring.round.plain import add_sums, plain_aggregate, plain_contribute, plain_evaluation, publish_sums
from fedring.storage import owner_store
from tasks._retry import RETRY_OPTIONS


@task(name="train", task_run_name="train-{account}-round-{rnd}", persist_result=False, **RETRY_OPTIONS)
def train_plain(cfg: FederationConfig, account: str, rnd: int) -> dict:
    """Train on the account's own data and publish the updated model in its outbox."""
    meta = plain_contribute(owner_store(cfg, account), cfg, rnd)
    get_run_logger().info("account %s round %d train: loss sum %.4f on %d examples", account, rnd, meta["loss_sum"],
                          meta["samples"])
    return meta


@task(name="aggregate", task_run_name="aggregate-round-{rnd}", persist_result=False, **RETRY_OPTIONS)
def aggregate_plain(cfg: FederationConfig, rnd: int, participants: list[str]) -> tuple[str, dict[str, dict]]:
    """FedAvg of the participants' published models: the host key of the result, and their metadata."""
    return plain_aggregate(cfg, rnd, participants)


@task(name="sums", task_run_name="sums-{account}-round-{rnd}-{purpose}", persist_result=False, **RETRY_OPTIONS)
def publish_sums_plain(cfg: FederationConfig, account: str, rnd: int, purpose: str) -> dict:
    """Publish this account's evaluation or statistics sums in the clear."""
    return publish_sums(owner_store(cfg, account), cfg, rnd, purpose)


@task(name="add-sums", task_run_name="add-sums-round-{rnd}-{purpose}", persist_result=False, **RETRY_OPTIONS)
def add_sums_plain(cfg: FederationConfig, rnd: int, purpose: str, participants: list[str]) -> list[int]:
    """The total of the participants' published sums."""
    return add_sums(cfg, rnd, purpose, participants).tolist()


@task(name="evaluation", task_run_name="evaluation-round-{rnd}", persist_result=False, **RETRY_OPTIONS)
def evaluation_plain(cfg: FederationConfig, rnd: int, participants: list[str], dropped: list[str]) -> dict:
    """The federated evaluation of round ``rnd``'s model: accuracy, loss and counts over the participants."""
    return plain_evaluation(cfg, rnd, participants, dropped)
