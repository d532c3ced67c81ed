"""fedring: secure federated learning across organisations' cloud accounts.

The core library: attribute policies and sealed envelopes, secure aggregation,
storage, configuration. It never imports Prefect (the orchestration lives in the
top-level ``flows`` and ``tasks`` packages) nor, at import time, torch.
"""

from fedring import envelope
from fedring.config import FederationConfig, build_config, load_config
from fedring.errors import (
    AccessDenied,
    ConfigError,
    CredentialsError,
    DataError,
    FedringError,
    IntegrityError,
    NotEnoughShares,
    ObjectExists,
    ObjectNotFound,
    PolicyError,
    PolicyNotSatisfied,
    PolicySyntaxError,
    PolicyTooLarge,
    ProtocolError,
    RevealRefused,
    StorageError,
    TooFewSurvivors,
    UnknownKey,
)
from fedring.keys import Authority, Identity, KeyRing, PublicDirectory, identity_attribute, new_account_keys
from fedring.policy import Policy
from fedring.policy import parse as parse_policy
from fedring.storage import LocalStore, Store

__version__ = "0.1.0"

__all__ = [
    "AccessDenied",
    "Authority",
    "ConfigError",
    "CredentialsError",
    "DataError",
    "FederationConfig",
    "FedringError",
    "Identity",
    "IntegrityError",
    "KeyRing",
    "LocalStore",
    "NotEnoughShares",
    "ObjectExists",
    "ObjectNotFound",
    "Policy",
    "PolicyError",
    "PolicyNotSatisfied",
    "PolicySyntaxError",
    "PolicyTooLarge",
    "ProtocolError",
    "PublicDirectory",
    "RevealRefused",
    "StorageError",
    "Store",
    "TooFewSurvivors",
    "UnknownKey",
    "build_config",
    "envelope",
    "identity_attribute",
    "load_config",
    "new_account_keys",
    "parse_policy",
]
