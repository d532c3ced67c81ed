"""A user's workload through the real round: data already in place, no split step, federated evaluation only.

The workload is ``tests.workloads.user_workload:TinyWorkload`` (a user's package, no
fedring base class), named in the federation file. The accounts hold their data under
``data/`` before the run (as ``fedring data put`` leaves it); the host has no test set,
so the round's only evaluation is the federated one, which must equal the plaintext sum
of what each account computes on its own eval split.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fedring.config import build_config
from fedring.layout import round_model
from fedring.report import federated_evaluations
from fedring.round.model import open_model
from fedring.round.party import host_party
from fedring.storage import host_store, owner_store
from fedring.workloads import sums
from fedring.workloads.federation import federation_workload
from fedring.workloads.local import evaluate_local
from tests.data.helpers import npy_bytes
from tests.workloads.user_workload import TinyWorkload

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]

ACCOUNTS = ("alpha", "beta", "gamma")
POISON = 1e6  # a feature value that makes NaNAtPoison's training diverge


class NaNAtPoison(TinyWorkload):
    """Trains normally, except on data holding the poison value: then its weights become NaN."""

    def train(self, model, examples, settings):
        outcome = super().train(model, examples, settings)
        if (examples.features == POISON).any():
            with torch.no_grad():
                model[0].weight.fill_(float("nan"))
        return outcome


def _federation(tmp_path, *, secure: bool, workload: str, poisoned: str | None = None):
    cfg = build_config(
        run="user",
        accounts=[{"name": n} for n in ACCOUNTS],
        training={"rounds": 2, "learning_rate": 2.0},
        secagg={"secure": secure},
        workload={"name": workload, "options": {"width": 2}} if workload.endswith("TinyWorkload") else {"name": workload},
        storage={"root": str(tmp_path / "storage")},
    )
    rng = np.random.default_rng(3)
    for name in ACCOUNTS:  # each owner's data, in its own bucket before any run
        x = rng.normal(size=(40, 2))
        y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
        if name == poisoned:
            x[0, 0] = POISON
        store = owner_store(cfg, name)
        for split, part in (("train", slice(0, 30)), ("eval", slice(30, 40))):
            store.put(f"data/{split}/features.npy", npy_bytes(x[part]))
            store.put(f"data/{split}/labels.npy", npy_bytes(y[part]))
    return cfg


def _data_objects(cfg) -> dict[str, list[str]]:
    return {n: sorted(owner_store(cfg, n).list("data/")) for n in ACCOUNTS}


@pytest.mark.parametrize("secure", [True, False], ids=["secure", "plain"])
def test_a_user_workload_trains_on_data_in_place_and_is_evaluated_federatedly(tmp_path, secure):
    from flows.host import federated_training

    # Prepare: three accounts with data in place; the federation file names the user's workload.
    cfg = _federation(tmp_path, secure=secure, workload="tests.workloads.user_workload:TinyWorkload")
    before = _data_objects(cfg)

    # Execute
    manifest = federated_training(cfg)

    # Assert: no split step (the accounts' data/ untouched), the workload and its layout recorded,
    # no host-side evaluation, and each round's federated evaluation equals the plaintext sum of
    # the accounts' own evaluations of that round's model.
    assert _data_objects(cfg) == before
    assert manifest["workload"]["name"] == "tests.workloads.user_workload:TinyWorkload"
    assert manifest["workload"]["options"] == {"width": 2}
    assert manifest["roster"] == {n: 30 for n in ACCOUNTS}
    fw = federation_workload(cfg)
    store = host_store(cfg)
    first, last = manifest["committed"]
    if secure:  # round 1's model is evaluated in round 2's sum, the last model in a sum of its own
        assert "federated" not in first and "federated_previous" in last and "federated" in last
    else:
        assert "federated" in first and "federated" in last
    for m, federated in zip(manifest["committed"], federated_evaluations(manifest["committed"]), strict=True):
        assert m.get("accuracy") is None and m["participants"] == list(ACCOUNTS) and m["dropped"] == []
        blob = store.get(round_model(cfg.run, m["round"]))
        state = open_model(host_party(cfg), blob, rnd=m["round"], host=cfg.host.name) if secure else blob
        each = [evaluate_local(fw.workload, owner_store(cfg, n), fw.layout.decode(state), layout=fw.layout, seed=cfg.seed)
                for n in ACCOUNTS]
        assert federated["examples"] == sum(e.examples for e in each) == 30
        assert federated["correct"] == sum(e.correct for e in each)
        assert federated["true_positives"] == sum(e.extra["true_positives"] for e in each)
        assert federated["loss"] == pytest.approx(sum(e.loss_sum for e in each) / 30, abs=3 * sums.error_bound(3) / 30)
        assert federated["participants"] == list(ACCOUNTS)
    assert manifest["committed"][-1]["federated"]["accuracy"] > 0.8


@pytest.mark.parametrize("secure", [True, False], ids=["secure", "plain"])
def test_an_account_whose_workload_returns_nan_weights_drops_out_named(tmp_path, secure):
    from flows.host import federated_training

    cfg = _federation(tmp_path, secure=secure, workload=f"{__name__}:NaNAtPoison", poisoned="beta")

    manifest = federated_training(cfg)

    assert [m["dropped"] for m in manifest["committed"]] == [["beta"], ["beta"]]
    assert all(m["participants"] == ["alpha", "gamma"] for m in manifest["committed"])
    final = host_store(cfg).get(round_model(cfg.run, 2))
    state = open_model(host_party(cfg), final, rnd=2, host=cfg.host.name) if secure else final
    assert np.isfinite(federation_workload(cfg).layout.decode(state).floats).all()
