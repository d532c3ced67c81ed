"""The model registry: share a federation's global model under an attribute policy.

``registry/<model>/<version>/`` in the host's bucket holds the sealed weights (one
envelope per generation; a rewrap adds one), the model card and the publisher's
signature. Publishing needs the host's keys; listing, showing and verifying need read
access only; opening needs a key ring that satisfies the policy. See ``docs/registry.md``.

    from fedring.registry import load_model, predict
    shared = load_model(store, "mnist:1", "keys/consumer")      # a torch.nn.Module inside
    digits, probs = predict(shared.module, images)              # uint8 [N, 28, 28]
"""

import importlib
from typing import Any

from fedring.registry.catalog import fetch, listing, model_names, show, version_numbers
from fedring.ml.inputs import Decoded, decode_all
from fedring.registry.ref import ModelRef
from fedring.registry.revoke import RewrapReport, revoke, rewrap_registry
from fedring.registry.verify import Report, verify_all

# Opening a model (consume) and publishing one need torch: imported on first use, so
# that listing, showing and verifying never load it (tests/registry/test_cli.py).
_NEED_TORCH = {
    "AttributeRevoked": "consume", "SharedModel": "consume", "load_model": "consume", "open_weights": "consume",
    "predict": "consume", "Published": "publish", "publish_weights": "publish", "share": "publish",
}

__all__ = [
    "AttributeRevoked", "Decoded", "ModelRef", "Published", "Report", "RewrapReport", "SharedModel",
    "decode_all", "fetch", "listing", "load_model", "model_names", "open_weights", "predict",
    "publish_weights", "revoke", "rewrap_registry", "share", "show", "verify_all", "version_numbers",
]


def __getattr__(name: str) -> Any:
    if name not in _NEED_TORCH:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_NEED_TORCH[name]}"), name)
