"""Settings for the Prefect server that fedring starts or talks to, as environment variables.

Applied (without overriding what the user set) before the first flow run, so the
ephemeral server the embedded default starts inherits them; ``deployments/README.md``
passes the same ones to ``prefect server start``. This module imports nothing from
Prefect, so the CLI can apply them before Prefect loads.
"""

from __future__ import annotations

import os

SERVER_SETTINGS = {
    # A fresh ephemeral server needs 8-20 s to answer here; Prefect's default is 20 s.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    # Run logs at INFO reach the API (the UI shows each round's and each stage's logs);
    # the terminal shows warnings only, so the CLI's progress display stays readable.
    "PREFECT_LOGGING_LEVEL": "INFO",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # The task run recorder's default writes each task run event in a SQLite
    # transaction of its own; those collide with the API's writes, which then answer
    # 503 and the client backs off about 2 s. Writing in batches removed the back-offs
    # (a subflow with two tasks: 1.2-2.2 s before, 0.17 s after; flush every 5 s).
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE": "100",
}


def apply_server_settings(environ: dict[str, str] = os.environ) -> dict[str, str]:
    """Set each setting the environment does not set already; returns the environment."""
    for name, value in SERVER_SETTINGS.items():
        environ.setdefault(name, value)
    return environ
