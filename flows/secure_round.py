"""One round of secure aggregation, as a Prefect flow.

broadcast → the secure sum of the accounts' trained updates (``flows/secure_sum.py``:
advertise, share keys, contribute, ring hops, consistency, reveal) → unmask and aggregate
→ [last round: federated evaluation of the new model, a secure sum of its own, label
``0003-eval``] → evaluate on the host's test set, if it has one → commit. With federated
evaluation, rounds 2 on carry the evaluation of the model they start from in their own
sum (``fedring.round.evaluate``), so only the last model needs a sum of its own.

Client stages run as client flows (``flows/client.py``, see ``flows/dispatch.py``); host
stages are tasks. Any failure that is not a declared dropout stops the round naming
account and stage; nothing is committed before the end.
"""

from __future__ import annotations

from prefect import flow
from prefect.utilities.annotations import quote

from fedring.config import FederationConfig
from fedring.round.plan import RoundPlan
from fedring.workloads.federation import evaluates_federated
from flows.dispatch import Mode
from flows.graph import step
from flows.round_tail import StageClock, finish_round
from flows.secure_sum import federated_evaluation, secure_sum
from tasks.advertise import load_host
from tasks.model import broadcast
from tasks.unmask import round_report, unmask


@flow(name="secure-round", flow_run_name="{cfg.run}-round-{rnd}", persist_result=False)
def secure_round(cfg: FederationConfig, rnd: int, roster: dict[str, int], dispatch: Mode = "embedded") -> dict:
    """One round of secure aggregation over the ring; returns the manifest after commit."""
    plan = RoundPlan.create(cfg, roster, rnd)
    accounts = list(plan.roster)
    host = load_host(cfg)
    clock = StageClock(rnd)

    step(broadcast, cfg, rnd, accounts)
    clock.lap("broadcast")

    summed = secure_sum(cfg, plan, roster, host, dispatch, clock)
    model_key, training = step(unmask, quote(host), plan, **summed.who)
    clock.lap("unmask")

    metas, sent = step(round_report, quote(host), plan, summed.survivors, accounts)
    last = rnd == cfg.training.rounds
    federated = federated_evaluation(cfg, rnd, roster, host, dispatch, clock) if last and evaluates_federated(cfg) else None
    return finish_round(
        cfg, rnd, model_key, clock, host=host, metas=metas, training=training, federated=federated,
        federated_previous=training.pop("federated_previous", None),
        participants=summed.survivors, dropped=sorted(set(accounts) - set(summed.survivors)), bytes_sent=sent,
        reused=summed.reused(),
    )
