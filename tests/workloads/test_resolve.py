"""A user's workload loads through the resolver and trains; every broken one is a clear WorkloadError."""

from __future__ import annotations

import numpy as np
import pytest

from fedring.cli import EXIT_BAD_INPUT, exit_code_for
from fedring.config import TrainingConfig
from fedring.errors import NonFiniteUpdate, StateMismatch, WorkloadError
from fedring.ml.state import StateLayout
from fedring.workloads import evaluate_local, resolve_workload, train_local
from fedring.workloads.sums import decode, encode

USER = "tests.workloads.user_workload"
TRAINING = TrainingConfig(rounds=1, learning_rate=0.5)


def _start(workload, seed: int = 0):
    model = workload.build_model(seed)
    layout = StateLayout.of(model)
    return layout, layout.split(model.state_dict())


@pytest.mark.parametrize("entry,options", [(f"{USER}:TinyWorkload", None), (f"{USER}:make_tiny", {"width": 2}),
                                           (f"{USER}:instance", None)])
def test_a_user_workload_trains_one_step_and_evaluates_through_the_interface(store, entry, options):
    workload = resolve_workload(entry, options)
    layout, start = _start(workload)

    update = train_local(workload, store, start, layout=layout, training=TRAINING, seed=0, rnd=1)
    sums = evaluate_local(workload, store, update.state, layout=layout, seed=0)

    assert update.samples == 8 and update.sums.examples == 8
    assert not np.array_equal(update.state.floats, start.floats)  # one SGD step moved the weights
    assert sums.examples == 4 and 0 <= sums.correct <= 4
    assert set(sums.extra) == {"true_positives", "margin_sum"}
    again = decode(encode(sums, workload.metrics), workload.metrics)
    assert again.correct == sums.correct and again.extra["true_positives"] == sums.extra["true_positives"]
    assert abs(again.extra["margin_sum"] - sums.extra["margin_sum"]) <= 2**-21


@pytest.mark.parametrize(
    "entry,options,message",
    [
        ("mnits", None, "workload 'mnits' is neither a built-in (mnist, breast-cancer, resnet18-mnist) nor 'package.module:object'"),
        ("nopkg.workload:W", None, "workload 'nopkg.workload:W': module 'nopkg.workload' does not import (ModuleNotFoundError"),
        ("tests.workloads.broken_import:W", None, "does not import (RuntimeError: settings.toml not found)"),
        (f"{USER}:Missing", None, f"module '{USER}' has no 'Missing'"),
        (f"{USER}:NoTrain", None, "NoTrain lacks the verb(s) train; a workload defines build_model(seed, stats=None)"),
        (f"{USER}:WrongSignature", None, "train(model) cannot be called as train(model, examples, settings)"),
        (f"{USER}:BadMetrics", None, "metric 'correct': 'count'; names must be new strings"),
        (f"{USER}:make_tiny", {"depth": 3}, "creating it with options {'depth': 3} failed (TypeError"),
        (f"{USER}:instance", {"width": 3}, "is an object, not a class or factory: it takes no options"),
    ],
)
def test_an_entry_point_that_cannot_be_used_is_named(entry, options, message):
    with pytest.raises(WorkloadError) as info:
        resolve_workload(entry, options)

    assert message in str(info.value)
    assert exit_code_for(info.value) == EXIT_BAD_INPUT


def test_wrong_return_types_are_named_at_the_call(store):
    returns_dict = resolve_workload(f"{USER}:ReturnsDict")
    returns_loss = resolve_workload(f"{USER}:ReturnsLoss")
    layout, start = _start(returns_loss)

    with pytest.raises(WorkloadError, match="ReturnsDict': build_model returned dict, not a torch nn.Module"):
        returns_dict.build_model(0)
    with pytest.raises(WorkloadError, match="ReturnsLoss': train returned float, not TrainOutcome"):
        train_local(returns_loss, store, start, layout=layout, training=TRAINING, seed=0, rnd=1)


def test_nan_weights_are_refused_by_the_account(store):
    workload = resolve_workload(f"{USER}:Explodes")
    layout, start = _start(workload)

    with pytest.raises(NonFiniteUpdate) as info:
        train_local(workload, store, start, layout=layout, training=TRAINING, seed=0, rnd=1)

    assert "on account 'alpha': training produced NaN or infinite values in tensor '0.weight'" in str(info.value)


def test_an_exception_in_user_code_names_entry_verb_and_account(store):
    workload = resolve_workload(f"{USER}:Crashes")
    layout, start = _start(workload)

    with pytest.raises(WorkloadError, match="Crashes': evaluate failed on account 'alpha': RuntimeError: CUDA out of memory"):
        evaluate_local(workload, store, start, layout=layout, seed=0)


def test_undeclared_or_missing_metrics_are_refused(store):
    workload = resolve_workload(f"{USER}:ForgetsMetric")
    layout, start = _start(workload)

    with pytest.raises(WorkloadError, match=r"extra sums \['true_positives'\] differ from the declared metrics"):
        evaluate_local(workload, store, start, layout=layout, seed=0)


def test_an_account_whose_model_differs_from_the_federations_is_named(store):
    federation = resolve_workload(f"{USER}:make_tiny", {"width": 2})
    layout, start = _start(federation)
    drifted = resolve_workload(f"{USER}:make_tiny", {"width": 3})  # this account configured another model

    with pytest.raises(StateMismatch) as info:
        train_local(drifted, store, start, layout=layout, training=TRAINING, seed=0, rnd=1)

    assert "account 'alpha': workload 'tests.workloads.user_workload:make_tiny': tensor '0.weight' has shape (2, 3)" in str(info.value)
