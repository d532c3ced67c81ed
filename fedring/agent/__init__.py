"""The agent protocol between a host and the organisations' client agents (no Prefect here).

``requests``: the signed stage requests and stage statuses, and the checks an agent makes
before it runs anything; ``deadlines``: how long the host waits for each answer. The
Prefect side is ``flows/agents.py`` (the host writes requests and waits) and
``flows/agent_service.py`` (an organisation's agent).
"""

from fedring.agent.deadlines import deadline_seconds
from fedring.agent.requests import (
    PARAMS,
    Outcome,
    StageRequest,
    Status,
    check_request,
    daily_run,
    digest,
    known_run,
    make_request,
    read_status,
)

__all__ = [
    "PARAMS",
    "Outcome",
    "StageRequest",
    "Status",
    "check_request",
    "daily_run",
    "deadline_seconds",
    "digest",
    "known_run",
    "make_request",
    "read_status",
]
