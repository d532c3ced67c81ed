"""Tasks of the secure round: thin wrappers that load an account's party and call the core.

Client tasks run inside that client's flow and touch only its store and keys. None of
them persists a result: what crosses tasks is object keys and small public metadata.
"""

from __future__ import annotations

from prefect import get_run_logger, task

from fedring.config import FederationConfig
from fedring.secure import client as core
from fedring.secure.party import client_party, ensure_keys
from fedring.secure.plan import RoundPlan
from fedring.storage import owner_store
from tasks._retry import RETRY_OPTIONS


def _party(cfg: FederationConfig, account: str):
    return client_party(cfg, account, owner_store(cfg, account))


def _log(account: str, rnd: int, stage: str, result: dict) -> None:
    how = "reused" if result.get("reused") else "done"
    get_run_logger().info("account %s round %d %s: %s", account, rnd, stage, how)


@task(name="enrol", task_run_name="enrol-{account}", persist_result=False, **RETRY_OPTIONS)
def enrol(cfg: FederationConfig, account: str) -> None:
    """Create the account's authority and identity key (once) and publish its public keys."""
    ensure_keys(cfg, account, owner_store(cfg, account))


@task(name="advertise", task_run_name="advertise-{account}-round-{rnd}", persist_result=False, **RETRY_OPTIONS)
def advertise(cfg: FederationConfig, account: str, roster: dict[str, int], rnd: int) -> dict:
    """Draw round secrets; publish the round public key and the Shamir shares, sealed."""
    result = core.advertise(_party(cfg, account), RoundPlan.create(cfg, roster, rnd))
    _log(account, rnd, "advertise", result)
    return result


@task(name="contribute", task_run_name="contribute-{account}-round-{rnd}", persist_result=False, **RETRY_OPTIONS)
def contribute(cfg: FederationConfig, account: str, roster: dict[str, int], rnd: int) -> dict:
    """Train, quantise and mask this account's update; keep the masked vector sealed."""
    result = core.contribute(
        _party(cfg, account), RoundPlan.create(cfg, roster, rnd), training=cfg.training, seed=cfg.seed, host=cfg.host.name
    )
    _log(account, rnd, "contribute", result)
    return result


@task(name="ring-hop", task_run_name="ring-hop-{account}-round-{rnd}-to-{to}", persist_result=False, **RETRY_OPTIONS)
def ring_hop(cfg: FederationConfig, account: str, roster: dict[str, int], rnd: int, to: str, came_from: str | None) -> dict:
    """Add the masked vector to the received partial sum; seal the sum to the next hop."""
    result = core.ring_hop(_party(cfg, account), RoundPlan.create(cfg, roster, rnd), to=to, came_from=came_from)
    _log(account, rnd, f"ring-hop to {to}", result)
    return result


@task(name="reveal", task_run_name="reveal-{account}-round-{rnd}", persist_result=False, **RETRY_OPTIONS)
def reveal(cfg: FederationConfig, account: str, roster: dict[str, int], rnd: int, survivors: list[str], dropped: list[str]) -> dict:
    """Reveal, sealed to the host, survivors' self-mask shares and dropped accounts' key shares."""
    result = core.reveal(
        _party(cfg, account), RoundPlan.create(cfg, roster, rnd), survivors=survivors, dropped=dropped, host=cfg.host.name
    )
    _log(account, rnd, "reveal", result)
    return result
