"""Tasks of enrolment: an account's keys and data description; the host's roster (see fedring/round/enrol.py)."""

from __future__ import annotations

from prefect import get_run_logger, task

from fedring.config import FederationConfig
from fedring.round.enrol import describe_data, read_roster
from fedring.round.party import ensure_keys
from fedring.storage import owner_store
from tasks._retry import RETRY_OPTIONS


@task(name="enrol", task_run_name="enrol-{account}", persist_result=False, **RETRY_OPTIONS)
def enrol(cfg: FederationConfig, account: str) -> dict:
    """Client: its identity and authority (once, secure runs); its data checked, its sample count published."""
    store = owner_store(cfg, account)
    if cfg.secagg.secure:
        ensure_keys(cfg, account, store)
    description = describe_data(cfg, store)
    get_run_logger().info("account %s enrolled: %d training examples", account, description["samples"])
    return {"samples": description["samples"]}


@task(name="roster", task_run_name="roster", persist_result=False, **RETRY_OPTIONS)
def roster(cfg: FederationConfig) -> dict[str, int]:
    """Host: every account's sample count, once its model is checked against the host's."""
    return read_roster(cfg)
