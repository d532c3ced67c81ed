"""Host tasks of the secure round: directory, relays, unmask-and-aggregate, sealed start."""

from __future__ import annotations

from prefect import get_run_logger, task

from fedring.config import FederationConfig
from fedring.host import start_run
from fedring.ml.model import build_model
from fedring.ml.weights import to_vector
from fedring.secure import host as core
from fedring.secure.plan import RoundPlan, check_plan
from tasks._retry import RETRY_OPTIONS


@task(name="publish-directory", persist_result=False, **RETRY_OPTIONS)
def publish_directory(cfg: FederationConfig) -> None:
    """Deliver every account's public keys to every client's inbox."""
    core.publish_directory(cfg)


@task(name="start-run", persist_result=False, **RETRY_OPTIONS)
def start_secure(cfg: FederationConfig, roster: dict[str, int]) -> dict:
    """Create or resume the run; the initial model is sealed to the participants."""
    check_plan(cfg)
    host = core.host_party(cfg)
    initial = core.seal_model(host, to_vector(build_model(cfg.seed)), rnd=0, participants=sorted(roster))
    return start_run(host.store, cfg, roster, initial)


@task(name="relay-advertisements", persist_result=False, **RETRY_OPTIONS)
def relay_advertisements(cfg: FederationConfig, roster: dict[str, int], rnd: int, advertised: list[str]) -> int:
    """Give advertisers the round's public keys and the shares sealed to them."""
    return core.relay_advertisements(cfg, RoundPlan.create(cfg, roster, rnd), advertised)


@task(name="relay-partial", persist_result=False, **RETRY_OPTIONS)
def relay_partial(cfg: FederationConfig, roster: dict[str, int], rnd: int, sender: str, recipient: str) -> int:
    """Move a sealed partial sum from one hop's outbox to the next hop's inbox (or the host)."""
    return core.relay_partial(cfg, RoundPlan.create(cfg, roster, rnd), sender=sender, recipient=recipient)


@task(name="unmask", persist_result=False, **RETRY_OPTIONS)
def unmask(
    cfg: FederationConfig,
    roster: dict[str, int],
    rnd: int,
    last_hops: list[str],
    survivors: list[str],
    dropped: list[str],
    advertised: list[str],
) -> str:
    """Decrypt the ring sums, unmask with the revealed shares, aggregate; returns the model key."""
    host = core.host_party(cfg)
    plan = RoundPlan.create(cfg, roster, rnd)
    key, stats = core.aggregate(cfg, host, plan, last_hops=last_hops, survivors=survivors, dropped=dropped, advertised=advertised)
    get_run_logger().info("round %d unmasked: %d survivors, %d dropped %s", rnd, len(survivors), len(dropped), stats)
    return key


@task(name="round-report", persist_result=False, **RETRY_OPTIONS)
def round_report(
    cfg: FederationConfig, roster: dict[str, int], rnd: int, survivors: list[str], accounts: list[str]
) -> tuple[dict[str, dict], dict[str, int]]:
    """Survivors' public contribution metadata, and the bytes each account sent this round."""
    plan = RoundPlan.create(cfg, roster, rnd)
    metas = {a: core.contribution_meta(cfg, plan, a) for a in survivors}
    return metas, {a: core.outbox_bytes(cfg, plan, a) for a in accounts}
