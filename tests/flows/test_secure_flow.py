"""The secure round on real MNIST slices under Prefect's harness: equivalence, dropouts, resume."""

from __future__ import annotations

import numpy as np
import pytest

from fedring.manifest import latest_manifest
from fedring.secagg import error_bound
from fedring.round.plan import RoundPlan
from fedring.storage import host_store
from tests.flows.secure_helpers import ACCOUNTS, TrainingSpy, fail_for, final_model, make_cfg

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, prefect_harness):
    """An uninterrupted secure run and a plaintext run from the same seed and data."""
    from flows.host import federated_training

    runs = {}
    for secure in (True, False):
        cfg = make_cfg(tmp_path_factory.mktemp("secure" if secure else "plain"), secure=secure)
        with pytest.MonkeyPatch.context() as mp:
            spy = TrainingSpy(mp)
            manifest = federated_training(cfg)
        runs[secure] = (cfg, manifest, spy)
    return runs


def _tolerance(cfg, survivors: int, weight: float) -> float:
    """Quantisation error bound of the mean (docs/secagg.md) plus float32 rounding."""
    return error_bound(survivors, cfg.secagg.frac_bits) / weight + 1e-6


def test_secure_and_plaintext_runs_agree(reference):
    (s_cfg, s_manifest, s_spy), (p_cfg, p_manifest, _) = reference[True], reference[False]
    # Round 1 starts from the same model: the two global models differ by at most
    # the quantisation error of the mean.
    assert np.max(np.abs(final_model(s_cfg, 1) - final_model(p_cfg, 1))) <= _tolerance(s_cfg, 3, 1.0)
    # Later rounds start from slightly different models and training amplifies that,
    # so each secure round is compared with plain FedAvg of the same client models.
    expected, weight = _expected_average(s_cfg, s_spy, 2, list(ACCOUNTS))
    assert np.max(np.abs(final_model(s_cfg, 2) - expected)) <= _tolerance(s_cfg, 3, weight)
    for s, p in zip(s_manifest["committed"], p_manifest["committed"], strict=True):
        assert abs(s["accuracy"] - p["accuracy"]) <= 0.001 + 1e-9  # 0.1 percentage points


def _expected_average(cfg, spy: TrainingSpy, rnd: int, survivors: list[str]) -> np.ndarray:
    plan = RoundPlan.create(cfg, latest_manifest(host_store(cfg), cfg.run)["roster"], rnd)
    base = spy.seen[(survivors[0], rnd)][0].astype(np.float64)
    weights = {a: plan.weight(a) for a in survivors}
    total = sum(weights.values())
    update = sum(weights[a] * (spy.seen[(a, rnd)][1] - spy.seen[(a, rnd)][0]).astype(np.float64) for a in survivors)
    return (base + update / total).astype(np.float32), total


@pytest.mark.parametrize("stage", ["advertise", "share", "contribute", "ring_hop"])
def test_one_account_offline_in_round_two_is_dropped(tmp_path, monkeypatch, stage):
    from flows.host import federated_training

    # Prepare: beta's storage fails in round 2, in one stage, on every retry.
    cfg = make_cfg(tmp_path, run=f"drop-{stage.replace('_', '-')}")
    spy = TrainingSpy(monkeypatch)
    fail_for(monkeypatch, stage, "beta", 2)
    # Execute
    manifest = federated_training(cfg)
    # Assert: round 2 committed with the others; the manifest names the dropout.
    second = manifest["committed"][1]
    assert second["participants"] == ["alpha", "gamma"]
    assert second["dropped"] == ["beta"]
    assert manifest["committed"][0]["dropped"] == []
    expected, weight = _expected_average(cfg, spy, 2, ["alpha", "gamma"])
    assert np.max(np.abs(final_model(cfg) - expected)) <= _tolerance(cfg, 2, weight)


def test_a_survivor_whose_reveal_fails_stays_in_the_sum_when_enough_shares_remain(tmp_path, monkeypatch):
    from flows.host import federated_training

    cfg = make_cfg(tmp_path, run="drop-reveal", rounds=1)
    spy = TrainingSpy(monkeypatch)
    fail_for(monkeypatch, "reveal", "beta", 1)

    manifest = federated_training(cfg)

    assert manifest["committed"][0]["participants"] == list(ACCOUNTS)  # its masked update is in the sum
    expected, weight = _expected_average(cfg, spy, 1, list(ACCOUNTS))
    assert np.max(np.abs(final_model(cfg) - expected)) <= _tolerance(cfg, 3, weight)


def test_a_bug_in_a_client_stage_stops_the_round_naming_account_and_stage(tmp_path, monkeypatch):
    from flows.host import federated_training

    from fedring.errors import StageFailed

    cfg = make_cfg(tmp_path, run="bug", rounds=1)
    fail_for(monkeypatch, "contribute", "beta", 1, error=RuntimeError)  # not an outage: a bug
    with pytest.raises(StageFailed, match="client-contribute of account 'beta' failed: RuntimeError: injected failure"):
        federated_training(cfg)
    assert latest_manifest(host_store(cfg), cfg.run)["committed"] == []


def test_too_many_dropouts_fail_the_round_and_commit_nothing(tmp_path, monkeypatch):
    from flows.host import federated_training

    from fedring.errors import TooFewSurvivors

    cfg = make_cfg(tmp_path, run="too-few", rounds=1)
    fail_for(monkeypatch, "contribute", "beta", 1)
    fail_for(monkeypatch, "contribute", "gamma", 1)
    with pytest.raises(TooFewSurvivors, match="missing: beta, gamma. Nothing was committed"):
        federated_training(cfg)
    assert latest_manifest(host_store(cfg), cfg.run)["committed"] == []


def test_crash_before_commit_resumes_without_rerunning_stages(tmp_path, monkeypatch, reference):
    import fedring.round.unmask as host_core
    from flows.host import federated_training

    # Prepare: the host fails after the ring and reveal of round 2, before commit.
    cfg = make_cfg(tmp_path)
    real = host_core.unmask_and_aggregate

    def crash(host, plan, **who):
        if plan.rnd == 2:
            raise RuntimeError("injected host crash before commit")
        return real(host, plan, **who)

    monkeypatch.setattr(host_core, "unmask_and_aggregate", crash)
    state = federated_training(cfg, return_state=True)
    assert state.is_failed()
    store = host_store(cfg)
    assert len(latest_manifest(store, cfg.run)["committed"]) == 1
    records_before = {k: store.get(k) for k in store.list(f"runs/{cfg.run}/rounds/0002/records/")}
    assert records_before  # advertise, contribute, ring-hop and reveal were recorded
    # Execute: rerun the same run id with the host healthy again.
    monkeypatch.setattr(host_core, "unmask_and_aggregate", real)
    spy = TrainingSpy(monkeypatch)
    manifest = federated_training(cfg)
    # Assert: round 2 committed, no client stage ran again, same model as uninterrupted.
    assert [m["round"] for m in manifest["committed"]] == [1, 2]
    assert spy.calls[2] == 0
    records_after = {k: store.get(k) for k in store.list(f"runs/{cfg.run}/rounds/0002/records/")}
    assert records_after == records_before
    ref_cfg = reference[True][0]
    assert np.array_equal(final_model(cfg), final_model(ref_cfg))
