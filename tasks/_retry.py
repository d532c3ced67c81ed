"""Retry policy shared by every task: only transient errors are retried.

Storage hiccups (throttling, 5xx, timeouts, connection resets) are worth retrying with
exponential back-off and jitter; integrity failures, policy errors and bad input are
not: retrying them only delays the clear error the user needs.
"""

from __future__ import annotations

from typing import Any

from prefect.tasks import exponential_backoff

from fedring.errors import (
    AccessDenied,
    ConfigError,
    CredentialsError,
    IntegrityError,
    ObjectExists,
    PolicyError,
    ProtocolError,
    UnknownKey,
)

PERMANENT = (IntegrityError, PolicyError, ProtocolError, ConfigError, UnknownKey, AccessDenied, CredentialsError, ObjectExists)

RETRIES = 3


def is_transient(task: Any, task_run: Any, state: Any) -> bool:
    """retry_condition_fn: retry unless the failure is one of fedring's permanent errors."""
    try:
        state.result()
    except PERMANENT:
        return False
    except Exception:
        return True
    return False


RETRY_OPTIONS: dict[str, Any] = {
    "retries": RETRIES,
    "retry_delay_seconds": exponential_backoff(backoff_factor=0.5),
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": is_transient,
}
