"""A resolved workload with its entry point: every verb's result checked, every failure named.

The round calls workloads only through ``BoundWorkload``, so user code that returns the
wrong type, trains to NaN, or raises becomes one ``WorkloadError`` naming the entry point
(``mnist``, ``package.module:object``), the verb and the account, instead of a traceback
deep in the round. fedring's own errors (a ``DataError`` from a loader) pass unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TypeVar

import numpy as np
import torch
from torch import nn

from fedring.data.examples import AccountData, Examples
from fedring.data.statistics import FederatedStats, StatsSpec
from fedring.errors import FedringError, NonFiniteUpdate, WorkloadError
from fedring.storage import Store
from fedring.workloads.base import MetricKind, RoundSettings, Sums, TrainOutcome

T = TypeVar("T")


class BoundWorkload:
    """``impl`` (any object with the four verbs) behind checks; ``entry`` names it in errors."""

    def __init__(
        self, entry: str, impl: object, *, metrics: Mapping[str, MetricKind], stats: StatsSpec | None
    ) -> None:
        self.entry = entry
        self.impl = impl
        self.metrics = dict(metrics)
        self.stats_spec = stats
        self.classes: tuple[str, ...] | None = getattr(impl, "classes", None)

    def _fail(self, message: str) -> WorkloadError:
        return WorkloadError(f"workload {self.entry!r}: {message}")

    def _call(self, verb: str, who: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except FedringError:
            raise
        except Exception as exc:  # the user's code: any exception is a workload failure
            raise self._fail(f"{verb} failed{who}: {type(exc).__name__}: {exc}") from exc

    def build_model(self, seed: int, stats: FederatedStats | None = None) -> nn.Module:
        impl = self.impl
        model = self._call(
            "build_model", "", lambda: impl.build_model(seed) if stats is None else impl.build_model(seed, stats)  # type: ignore[attr-defined]
        )
        if not isinstance(model, nn.Module):
            raise self._fail(f"build_model returned {type(model).__name__}, not a torch nn.Module")
        return model

    def load_data(self, store: Store, prefix: str) -> AccountData:
        data = self._call("load_data", f" on account {store.account!r}", lambda: self.impl.load_data(store, prefix))  # type: ignore[attr-defined]
        if not isinstance(data, AccountData) or not isinstance(data.train, Examples):
            raise self._fail(f"load_data returned {type(data).__name__}, not AccountData(train=Examples, ...)")
        for split in (data.train, data.evaluation):
            if split is not None:
                self._check_examples(split, store.account)
        if len(data.train) == 0:
            raise self._fail(f"load_data found no training examples on account {store.account!r}")
        return data

    def _check_examples(self, examples: Examples, account: str) -> None:
        if not isinstance(examples, Examples):
            raise self._fail(f"load_data returned {type(examples).__name__} as a split, not Examples")
        labels = np.asarray(examples.labels)
        if labels.ndim != 1 or labels.dtype != np.int64 or len(examples.features) != len(labels):
            raise self._fail(
                f"load_data on account {account!r} ({examples.source}): labels must be int64 [N] and features "
                f"have N rows; got labels {labels.shape} {labels.dtype}, features {np.shape(examples.features)}"
            )

    def train(self, model: nn.Module, examples: Examples, settings: RoundSettings, *, who: str) -> TrainOutcome:
        on = f" on account {who!r}"
        out = self._call("train", on, lambda: self.impl.train(model, examples, settings))  # type: ignore[attr-defined]
        if not isinstance(out, TrainOutcome):
            raise self._fail(f"train returned {type(out).__name__}, not TrainOutcome(state, samples, sums)")
        if not isinstance(out.state, Mapping) or not all(isinstance(t, torch.Tensor) for t in out.state.values()):
            raise self._fail("train returned a state that is not a mapping of names to tensors (model.state_dict())")
        if isinstance(out.samples, bool) or not isinstance(out.samples, int) or out.samples < 1:
            raise self._fail(f"train returned samples={out.samples!r}; the examples trained on, an int >= 1")
        self._check_sums(out.sums, "train", {})
        for name, tensor in out.state.items():
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                raise NonFiniteUpdate(
                    f"workload {self.entry!r}{on}: training produced NaN or infinite values in tensor "
                    f"{name!r}; the account refuses to send this update"
                )
        return out

    def evaluate(self, model: nn.Module, examples: Examples, *, who: str) -> Sums:
        sums = self._call("evaluate", f" on account {who!r}", lambda: self.impl.evaluate(model, examples))  # type: ignore[attr-defined]
        self._check_sums(sums, "evaluate", self.metrics)
        return sums

    @property
    def has_test_data(self) -> bool:
        """Whether the workload gives the host a test set of its own (the optional verb ``test_data``)."""
        return getattr(self.impl, "test_data", None) is not None

    def test_data(self, data_dir: str | None) -> Examples | None:
        """The host's own test set, from the optional verb ``test_data(data_dir)``; None without one."""
        method = getattr(self.impl, "test_data", None)
        if method is None:
            return None
        test = self._call("test_data", " on the host", lambda: method(data_dir))
        if test is not None and not isinstance(test, Examples):
            raise self._fail(f"test_data returned {type(test).__name__}, not Examples or None")
        if test is not None:
            self._check_examples(test, "host")
        return test

    def _check_sums(self, sums: object, verb: str, metrics: Mapping[str, MetricKind]) -> None:
        if not isinstance(sums, Sums):
            raise self._fail(f"{verb} returned {type(sums).__name__} as sums, not Sums(loss_sum, correct, examples)")
        counts_ok = all(isinstance(v, int) and not isinstance(v, bool) for v in (sums.correct, sums.examples))
        if not counts_ok or not 0 <= sums.correct <= sums.examples:
            raise self._fail(f"{verb}: correct and examples must be ints with 0 <= correct <= examples, got {sums}")
        if not isinstance(sums.loss_sum, (int, float)) or not math.isfinite(sums.loss_sum):
            raise self._fail(f"{verb}: loss_sum must be a finite number, got {sums.loss_sum!r}")
        if set(sums.extra) != set(metrics):
            raise self._fail(
                f"{verb}: extra sums {sorted(sums.extra)} differ from the declared metrics {sorted(metrics)}"
            )
        for name, kind in metrics.items():
            value = sums.extra[name]
            ok = isinstance(value, int) if kind == "count" else isinstance(value, (int, float)) and math.isfinite(value)
            if isinstance(value, bool) or not ok:
                raise self._fail(f"{verb}: metric {name!r} is declared {kind!r} but is {value!r}")
