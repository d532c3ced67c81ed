"""The plaintext baseline: its client flows (train, sums) and its round (FedAvg, no secure aggregation)."""

from __future__ import annotations

from prefect import flow
from prefect.utilities.annotations import quote

from fedring.config import FederationConfig
from fedring.layout import round_label
from fedring.workloads.federation import evaluates_federated
from flows.dispatch import Mode, run_clients
from flows.graph import client_step, step
from flows.round_tail import StageClock, finish_round, require_survivors
from tasks.model import broadcast
from tasks.plain import add_sums_plain, aggregate_plain, evaluation_plain, publish_sums_plain, train_plain


@flow(name="client-train", flow_run_name="{account}-round-{rnd}", persist_result=False)
def client_train(cfg: FederationConfig, account: str, rnd: int) -> dict:
    """Train on this account's own data and publish the updated model in its outbox."""
    return client_step(train_plain, quote(cfg), account, rnd)  # quote: see flows/client.py


@flow(name="client-sums", flow_run_name="{account}-round-{rnd}-{purpose}", persist_result=False)
def client_sums(cfg: FederationConfig, account: str, rnd: int, purpose: str) -> dict:
    """Publish this account's evaluation or statistics sums in its outbox, in the clear."""
    return client_step(publish_sums_plain, quote(cfg), account, rnd, purpose)


def plain_sum(cfg: FederationConfig, rnd: int, purpose: str, accounts: list[str], dispatch: Mode) -> tuple[list[str], list[str]]:
    """Every account publishes its sums; returns (participants, dropped)."""
    outcomes = run_clients(client_sums, accounts, dispatch, cfg=cfg, rnd=rnd, purpose=purpose)
    survivors = [a for a, o in outcomes.items() if o.ok]
    require_survivors(round_label(rnd, purpose), "sums", survivors, accounts, cfg.threshold)
    return survivors, [a for a in accounts if a not in survivors]


def plain_statistics(cfg: FederationConfig, accounts: list[str], dispatch: Mode) -> list[int]:
    """Federated statistics without secure aggregation: the total of every account's published sums."""
    survivors, _ = plain_sum(cfg, 0, "stats", accounts, dispatch)
    return step(add_sums_plain, cfg, 0, "stats", survivors)


@flow(name="plain-round", flow_run_name="{cfg.run}-round-{rnd}", persist_result=False)
def plain_round(cfg: FederationConfig, rnd: int, roster: dict[str, int], dispatch: Mode = "embedded") -> dict:
    """Broadcast → train (clients) → aggregate → evaluate (clients, host) → commit, without secure aggregation."""
    accounts = list(roster)
    clock = StageClock(rnd)

    step(broadcast, cfg, rnd, accounts)
    clock.lap("broadcast")
    outcomes = run_clients(client_train, accounts, dispatch, cfg=cfg, rnd=rnd)
    survivors = [a for a, o in outcomes.items() if o.ok]
    dropped = [a for a in accounts if a not in survivors]
    require_survivors(rnd, "train", survivors, accounts, cfg.threshold)
    clock.lap("train")
    model_key, metas = step(aggregate_plain, cfg, rnd, survivors)
    clock.lap("aggregate")
    federated = None
    if evaluates_federated(cfg):
        step(broadcast.with_options(task_run_name=f"eval-broadcast-round-{rnd}"), cfg, rnd, accounts, "eval")
        evaluated, missing = plain_sum(cfg, rnd, "eval", accounts, dispatch)
        federated = step(evaluation_plain, cfg, rnd, evaluated, missing)
        clock.lap("eval")
    training = {k: sum(m[k] for m in metas.values()) for k in ("loss_sum", "examples", "correct")}
    return finish_round(
        cfg, rnd, model_key, clock, host=None, metas=metas, participants=survivors, dropped=dropped,
        training={**training, "clipped": 0}, federated=federated,
        bytes_sent={a: m["bytes_sent"] for a, m in metas.items()},
    )
