"""Client flows: each runs one stage of the secure round for one account.

In the embedded default their bodies run inside the host's round flow (each stage a
task run, see flows/dispatch.py); in a deployment, each account's worker runs them on
the account's own work pool (``prefect.yaml``). Either way a client stage sees only
its own account's store and keys. The configuration is passed ``quote``d: Prefect
then skips walking it for upstream dependencies (2.5 ms of every task run here).
"""

from __future__ import annotations

from prefect import flow
from prefect.utilities.annotations import quote

from fedring.config import FederationConfig
from flows.progress import report
from tasks.advertise import advertise, enrol
from tasks.contribute import contribute
from tasks.reveal import reveal
from tasks.ring import ring_hop


@flow(name="client-enrol", flow_run_name="{account}-enrol", persist_result=False)
def client_enrol(cfg: FederationConfig, account: str) -> None:
    """Create this account's keys (once) and publish its public keys."""
    enrol(quote(cfg), account)


@flow(name="client-advertise", flow_run_name="{account}-round-{rnd}", persist_result=False)
def client_advertise(cfg: FederationConfig, account: str, roster: dict[str, int], rnd: int) -> dict:
    """Round secrets, public key and sealed shares."""
    report(rnd, "advertise", account)
    return advertise(quote(cfg), account, roster, rnd)


@flow(name="client-contribute", flow_run_name="{account}-round-{rnd}", persist_result=False)
def client_contribute(cfg: FederationConfig, account: str, roster: dict[str, int], rnd: int) -> dict:
    """Train → quantise → mask; the masked vector stays sealed in the account."""
    report(rnd, "contribute", account)
    return contribute(quote(cfg), account, roster, rnd)


@flow(name="client-ring-hop", flow_run_name="{account}-round-{rnd}-to-{to}", persist_result=False)
def client_ring_hop(cfg: FederationConfig, account: str, roster: dict[str, int], rnd: int, to: str, came_from: str | None = None) -> dict:
    """Open the partial sum, add the masked vector, seal the sum to the next hop."""
    report(rnd, "ring-hop", account)
    return ring_hop(quote(cfg), account, roster, rnd, to, came_from)


@flow(name="client-reveal", flow_run_name="{account}-round-{rnd}", persist_result=False)
def client_reveal(cfg: FederationConfig, account: str, roster: dict[str, int], rnd: int, survivors: list[str], dropped: list[str]) -> dict:
    """Reveal the shares the host needs to unmask, sealed to the host."""
    report(rnd, "reveal", account)
    return reveal(quote(cfg), account, roster, rnd, survivors, dropped)
