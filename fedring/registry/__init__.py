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

# Public name -> the module that defines it. Imported on first use, so that listing,
# showing and verifying (catalog, verify) never load torch, which only opening a model
# (consume) and publishing need.
_EXPORTS = {
    "fetch": "catalog", "listing": "catalog", "model_names": "catalog", "show": "catalog",
    "version_numbers": "catalog",
    "AttributeRevoked": "consume", "SharedModel": "consume", "load_model": "consume", "open_weights": "consume",
    "predict": "consume",
    "Decoded": "inputs", "decode_all": "inputs",
    "ModelRef": "paths",
    "Published": "publish", "publish_weights": "publish", "share": "publish",
    "RewrapReport": "revoke", "revoke": "revoke", "rewrap_registry": "revoke",
    "Report": "verify", "verify_all": "verify",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
