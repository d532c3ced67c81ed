"""Find a workload by name: a built-in, or a user's ``package.module:object``.

The object may be a workload instance, a class, or a factory function; a class or a
factory is called with the federation's options (keyword arguments). Everything is
checked before the first round, and every failure is a ``WorkloadError`` (exit code 2)
naming the entry point: a module that does not import, a missing object, a missing or
wrongly shaped verb, bad options, a malformed ``metrics`` or ``statistics``.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Mapping

from fedring.data.statistics import StatsSpec
from fedring.errors import WorkloadError
from fedring.workloads.base import VERBS
from fedring.workloads.bound import BoundWorkload

BUILTINS = {
    "mnist": "fedring.workloads.mnist:MnistWorkload",
    "breast-cancer": "fedring.workloads.breast_cancer:breast_cancer",
    "resnet18-mnist": "fedring.workloads.resnet:ResNet18Mnist",
}
_ENTRY = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
# How the round calls each verb: placeholder arguments that a verb's signature must accept.
_CALLS = {
    "build_model": ("seed",),
    "load_data": ("store", "prefix"),
    "train": ("model", "examples", "settings"),
    "evaluate": ("model", "examples"),
}
_RESERVED = {"examples", "correct", "loss_sum"}


def resolve_workload(spec: str, options: Mapping[str, object] | None = None) -> BoundWorkload:
    """The workload ``spec`` names, created with ``options``, checked, ready for the round."""
    target = BUILTINS.get(spec, spec)
    if not _ENTRY.match(target):
        raise WorkloadError(
            f"workload {spec!r} is neither a built-in ({', '.join(BUILTINS)}) nor 'package.module:object'"
        )
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or anything the module raises while importing
        raise WorkloadError(
            f"workload {spec!r}: module {module_name!r} does not import ({type(exc).__name__}: {exc}); "
            "is its package installed in this environment?"
        ) from exc
    obj: object = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise WorkloadError(f"workload {spec!r}: module {module_name!r} has no {attr!r}")
        obj = getattr(obj, part)
    impl = _instantiate(spec, obj, dict(options or {}))
    _check_verbs(spec, impl)
    return BoundWorkload(spec, impl, metrics=_metrics(spec, impl), stats=_statistics(spec, impl))


def _instantiate(spec: str, obj: object, options: dict[str, object]) -> object:
    if inspect.isclass(obj) or inspect.isfunction(obj):
        try:
            return obj(**options)  # type: ignore[operator]
        except Exception as exc:
            raise WorkloadError(
                f"workload {spec!r}: creating it with options {options or '{}'} failed ({type(exc).__name__}: {exc})"
            ) from exc
    if options:
        raise WorkloadError(f"workload {spec!r} is an object, not a class or factory: it takes no options")
    return obj


def _check_verbs(spec: str, impl: object) -> None:
    missing = [verb for verb in VERBS if not callable(getattr(impl, verb, None))]
    if missing:
        raise WorkloadError(
            f"workload {spec!r}: {type(impl).__name__} lacks the verb(s) {', '.join(missing)}; a workload "
            "defines build_model(seed, stats=None), load_data(store, prefix), train(model, examples, settings) "
            "and evaluate(model, examples) (see docs/workloads.md)"
        )
    for verb, args in _CALLS.items():
        method = getattr(impl, verb)
        try:
            signature = inspect.signature(method)
        except (TypeError, ValueError):  # builtins without a signature: trust them
            continue
        try:
            signature.bind(*args)
        except TypeError:
            raise WorkloadError(
                f"workload {spec!r}: {verb}{signature} cannot be called as {verb}({', '.join(args)})"
            ) from None


def _metrics(spec: str, impl: object) -> dict[str, str]:
    metrics = getattr(impl, "metrics", {}) or {}
    if not isinstance(metrics, Mapping):
        raise WorkloadError(f"workload {spec!r}: metrics must map names to 'count' or 'real'")
    for name, kind in metrics.items():
        if not isinstance(name, str) or name in _RESERVED or kind not in ("count", "real"):
            raise WorkloadError(
                f"workload {spec!r}: metric {name!r}: {kind!r}; names must be new strings "
                f"(not {', '.join(sorted(_RESERVED))}) and kinds 'count' or 'real'"
            )
    return dict(metrics)


def _statistics(spec: str, impl: object) -> StatsSpec | None:
    method = getattr(impl, "statistics", None)
    if method is None:
        return None
    try:
        stats = method()
    except Exception as exc:
        raise WorkloadError(f"workload {spec!r}: statistics() failed ({type(exc).__name__}: {exc})") from exc
    if stats is not None and not isinstance(stats, StatsSpec):
        raise WorkloadError(f"workload {spec!r}: statistics() returned {type(stats).__name__}, not a StatsSpec or None")
    if stats is not None:
        try:
            inspect.signature(impl.build_model).bind("seed", "stats")  # type: ignore[attr-defined]
        except TypeError:
            raise WorkloadError(f"workload {spec!r}: it asks for statistics, so build_model must take (seed, stats)") from None
    return stats
