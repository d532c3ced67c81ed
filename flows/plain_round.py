"""The plaintext baseline: its client flow (train) and its round (FedAvg, no secure aggregation)."""

from __future__ import annotations

from prefect import flow
from prefect.utilities.annotations import quote

from fedring.config import FederationConfig
from flows.dispatch import Mode, run_clients
from flows.graph import client_step, step
from flows.round_tail import StageClock, finish_round, require_survivors
from tasks.model import broadcast
from tasks.plain import aggregate_plain, train_plain


@flow(name="client-train", flow_run_name="{account}-round-{rnd}", persist_result=False)
def client_train(cfg: FederationConfig, account: str, rnd: int) -> dict:
    """Train on this account's partition and publish the updated model in its outbox."""
    return client_step(train_plain, quote(cfg), account, rnd)  # quote: see flows/client.py


@flow(name="plain-round", flow_run_name="{cfg.run}-round-{rnd}", persist_result=False)
def plain_round(cfg: FederationConfig, rnd: int, roster: dict[str, int], dispatch: Mode = "embedded") -> dict:
    """Broadcast → train (clients) → aggregate → evaluate → commit, without secure aggregation."""
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
    return finish_round(
        cfg, rnd, model_key, clock, host=None, metas=metas, participants=survivors, dropped=dropped,
        training={"loss_sum": sum(m["loss"] * m["samples"] for m in metas.values()), "clipped": 0},
        bytes_sent={a: m["bytes_sent"] for a, m in metas.items()},
    )
