"""Evaluate a round's new model: federated, on every account's own eval split; and on the host's test set, if any.

Each account evaluates a global model on its ``eval`` split and adds the sums
(``fedring.workloads.sums``: examples, correct, loss, the workload's metrics) as exact
integers to a secure sum; an account without an eval split adds zeros. The host learns
the totals over the accounts that took part, never one account's accuracy.

Which secure sum carries them (``carries_evaluation``): round r's model is evaluated at
the start of round r + 1, its sums appended to that round's training vector (recorded
as ``federated_previous`` in round r + 1's manifest), so a round costs one secure sum,
not two. The last round's model, which no later round starts from, gets a sum of its
own (``RoundPlan.purpose == "eval"``, label ``"0003-eval"`` for round 3) before the
last commit (``federated`` in its manifest). ``fedring.report.federated_evaluations``
pairs each round with its model's evaluation.

The host evaluates on a test set of its own only when the workload has one
(``test_data``; MNIST does): a consortium usually has none.
"""

from __future__ import annotations

import numpy as np

from fedring.config import FederationConfig
from fedring.data.examples import AccountData
from fedring.ml.state import ModelState
from fedring.storage import Store
from fedring.workloads import sums
from fedring.workloads.base import Sums
from fedring.workloads.federation import FederationWorkload, evaluates_federated, federation_workload
from fedring.workloads.local import evaluate_local, evaluate_state


def carries_evaluation(cfg: FederationConfig, rnd: int) -> bool:
    """Whether training round ``rnd``'s vector ends with the evaluation sums of the model it starts from."""
    return rnd >= 2 and evaluates_federated(cfg)


def evaluation_sums(fw: FederationWorkload, store: Store, model: ModelState, *, data: AccountData | None = None) -> np.ndarray:
    """This account's evaluation sums of the global ``model`` on its own eval split (int64, exact)."""
    found = evaluate_local(fw.workload, store, model, layout=fw.layout, seed=fw.seed, prefix=fw.prefix, data=data)
    return sums.encode(found, fw.workload.metrics)


def evaluation_vector(party, view, *, cfg: FederationConfig, host: str) -> tuple[dict, np.ndarray]:
    """Client: the exact words of this account's evaluation sums of the round's new model."""
    from fedring.round.model import received_model
    from fedring.round.train import decode_model
    from fedring.secagg import exact

    fw = federation_workload(cfg)
    model = decode_model(fw, received_model(party, view.plan, host=host, digest=view.model), account=party.name)
    words = exact.to_words(evaluation_sums(fw, party.store, model), f"account {party.name!r}: evaluation sums")
    return {}, words  # no time in the public metadata: it would hint at the size of the eval split


def evaluation_length(fw: FederationWorkload) -> int:
    """Values in an evaluation sum: examples, correct, loss_sum and the workload's metrics."""
    return len(sums.fields(fw.workload.metrics))


def federated_metrics(fw: FederationWorkload, totals: np.ndarray, *, participants: list[str], dropped: list[str]) -> dict:
    """The round's federated evaluation from the summed sums: accuracy, mean loss, examples, metrics."""
    total: Sums = sums.decode(totals, fw.workload.metrics)
    return {
        "accuracy": total.accuracy if total.examples else None,
        "loss": total.mean_loss if total.examples else None,
        "examples": total.examples,
        "correct": total.correct,
        **{name: value for name, value in total.extra.items()},
        "participants": participants,
        "dropped": dropped,
    }


def host_evaluation(cfg: FederationConfig, state: bytes) -> dict:
    """Accuracy and loss of a global model on the host's own test set; ``{}`` if the workload has none."""
    fw = federation_workload(cfg)
    test = fw.test_set(cfg.data_dir, cfg.training.eval_limit)
    if test is None:
        return {}
    found = evaluate_state(fw.workload, fw.layout.decode(state), test, layout=fw.layout, seed=fw.seed)
    return {"accuracy": found.accuracy, "loss": found.mean_loss}
