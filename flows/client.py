"""Client flows: each runs one stage of a secure sum for one account.

``purpose`` names the sum: ``""`` a training round, ``"eval"`` its federated evaluation,
``"stats"`` federated statistics (see ``fedring.round.plan.RoundPlan``).

In the embedded default their bodies run inside the host's round flow (each stage a
task run, see flows/dispatch.py); in agent mode, each organisation's agent runs them as
flow runs on its own Prefect (``flows/agent_service.py``). Either way a client stage sees
only its own account's store and keys, and computes the round's plan itself. The
configuration and every argument that grows with the accounts (the roster, the survivor
and dropout lists, the signatures) are passed ``quote``d: Prefect then skips walking
them for upstream dependencies (2.5 ms of every task run here for the configuration;
the others made every account's stage cost grow with the number of accounts). Parameters
are plain JSON values (signatures travel base64-encoded), as the agents receive them in
stage requests.
"""

from __future__ import annotations

from prefect import Task, flow
from prefect.utilities.annotations import quote

from fedring.config import FederationConfig
from flows.graph import client_step
from flows.progress import report
from tasks.advertise import advertise
from tasks.consistency import sign_survivors
from tasks.contribute import contribute
from tasks.enrol import enrol
from tasks.reveal import reveal
from tasks.ring import ring_hop
from tasks.share_keys import share


def _named(stage: str, purpose: str) -> str:
    """A stage's name in progress events: ``advertise``, ``eval advertise``."""
    return f"{purpose} {stage}" if purpose else stage


def _for(task: Task, purpose: str) -> Task:
    """The stage's task, its runs named after the sum: ``contribute-beta-round-2-eval`` beside ``contribute-beta-round-2``."""
    return task.with_options(task_run_name=f"{task.task_run_name}-{purpose}") if purpose else task


@flow(name="client-enrol", flow_run_name="{account}-enrol", persist_result=False)
def client_enrol(cfg: FederationConfig, account: str) -> dict:
    """Check this account's data against the workload and publish its sample count; its keys (once) if secure."""
    return client_step(enrol, quote(cfg), account)


@flow(name="client-advertise", flow_run_name="{account}-round-{rnd}", persist_result=False)
def client_advertise(cfg: FederationConfig, account: str, roster: dict[str, int], rnd: int, purpose: str = "") -> dict:
    """Round secrets; the signed round key, self-mask commitment and model digest."""
    report(rnd, _named("advertise", purpose), account)
    return client_step(_for(advertise, purpose), quote(cfg), account, quote(roster), rnd, purpose)


@flow(name="client-share-keys", flow_run_name="{account}-round-{rnd}", persist_result=False)
def client_share_keys(cfg: FederationConfig, account: str, roster: dict[str, int], rnd: int, purpose: str = "") -> dict:
    """Accept the round's advertisements; the Shamir shares of the round secrets, sealed and signed."""
    report(rnd, _named("share-keys", purpose), account)
    return client_step(_for(share, purpose), quote(cfg), account, quote(roster), rnd, purpose)


@flow(name="client-contribute", flow_run_name="{account}-round-{rnd}", persist_result=False)
def client_contribute(cfg: FederationConfig, account: str, roster: dict[str, int], rnd: int, purpose: str = "") -> dict:
    """Train → quantise → mask (or evaluate / count → mask); the masked vector stays sealed in the account."""
    report(rnd, _named("contribute", purpose), account)
    return client_step(_for(contribute, purpose), quote(cfg), account, quote(roster), rnd, purpose)


@flow(name="client-ring-hop", flow_run_name="{account}-round-{rnd}-to-{to}", persist_result=False)
def client_ring_hop(cfg: FederationConfig, account: str, roster: dict[str, int], rnd: int, to: str, came_from: str | None = None,
                    purpose: str = "") -> dict:
    """Open the partial sum, add the masked vector, send the sum to the next hop."""
    report(rnd, _named("ring-hop", purpose), account)
    return client_step(_for(ring_hop, purpose), quote(cfg), account, quote(roster), rnd, to, came_from, purpose)


@flow(name="client-consistency", flow_run_name="{account}-round-{rnd}", persist_result=False)
def client_consistency(cfg: FederationConfig, account: str, roster: dict[str, int], rnd: int, survivors: list[str], dropped: list[str],
                       purpose: str = "") -> dict:
    """Check the announced survivor set and sign it."""
    report(rnd, _named("consistency", purpose), account)
    return client_step(_for(sign_survivors, purpose), quote(cfg), account, quote(roster), rnd, quote(survivors),
                       quote(dropped), purpose)


@flow(name="client-reveal", flow_run_name="{account}-round-{rnd}", persist_result=False)
def client_reveal(cfg: FederationConfig, account: str, roster: dict[str, int], rnd: int, survivors: list[str],
                  dropped: list[str], signatures: dict[str, str], purpose: str = "") -> dict:
    """With enough signatures over the survivor set, reveal the shares the host needs, sealed to it."""
    report(rnd, _named("reveal", purpose), account)
    return client_step(_for(reveal, purpose), quote(cfg), account, quote(roster), rnd, quote(survivors), quote(dropped),
                       quote(signatures), purpose)
