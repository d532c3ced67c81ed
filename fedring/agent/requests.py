"""Stage requests and stage statuses: the only messages between the host and a client's agent.

In agent mode the host never runs anything in a client's account. It writes a *stage
request* into the client's inbox; the client's agent checks it, runs the stage on its own
Prefect with its own configuration, keys and credentials, and answers with a *stage status*
in its outbox. Both are signed statements (``fedring.keys.signed``) checked against the pins
of the reader's own federation file, never against a key the other side hands over::

    request  kind "stage-request", signer: the host
             context {"run", "round", "account", "request": <name>}
             body    {"stage": <one of CLIENT_STAGES>, "params": {...}}   (canonical JSON)
             (a stage of a sum without training adds "purpose": "eval" for the federated
             evaluation of the round's model, "stats" for federated statistics in round 0)
    status   kind "stage-status", signer: the account
             context {"run", "round", "request": <name>}
             body    {"outcome", "result", "error": {"class", "message"} | null,
                      "request": <SHA-256 of the request answered> | null, "seconds"}

A request names a stage from the fixed list and its data parameters (the roster, ring
neighbours, survivor sets, signatures), nothing else: no code, no command, no
configuration. ``check_request`` refuses anything else with ``RequestRefused`` and says why.
Requests carry no time, so a host that resumes writes the same bytes again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from fedring.errors import IntegrityError, RequestRefused, UnknownKey
from fedring.keys import signed
from fedring.keys.identity import Identity
from fedring.layout import CLIENT_STAGES, PURPOSES, parse_stage_request, request_name, stage_request, stage_status

REQUEST = "stage-request"
STATUS = "stage-status"
MAX_REQUEST_BYTES = 1 << 20  # a request is a few kilobytes; anything bigger is refused unread
MAX_SIGNATURE_CHARS = 8192

# The data parameters each client stage takes (besides the round), in the order of a round.
PARAMS: dict[str, tuple[str, ...]] = {
    "enrol": (),
    "advertise": ("roster",),
    "share-keys": ("roster",),
    "contribute": ("roster",),
    "ring-hop": ("roster", "to", "came_from"),
    "consistency": ("roster", "survivors", "dropped"),
    "reveal": ("roster", "survivors", "dropped", "signatures"),
}
# A stage of a secure sum without training also names its purpose ("eval", "stats"); a
# training round's requests carry none, as before there were sums of other purposes.
PURPOSE = "purpose"
assert tuple(PARAMS) == CLIENT_STAGES

_DAILY = re.compile(r"^(.+)-(\d{8})$")


class Outcome(StrEnum):
    """How an agent answered a request."""

    OK = "ok"  # the stage ran; ``result`` is its small public result
    DROPOUT = "dropout"  # a declared dropout: storage unavailable, or the account's own refusal
    REFUSED = "refused"  # the request was refused; nothing ran
    INTEGRITY = "integrity"  # the stage met tampering or a misbehaving host: the round must stop
    FAILED = "failed"  # anything else (a bug): the round stops, naming account and stage


def daily_run(run: str, when: datetime) -> str:
    """The run id of a scheduled training on ``when``'s UTC date: ``<run>-YYYYMMDD``."""
    return f"{run}-{when:%Y%m%d}"


def known_run(base: str, run: str) -> bool:
    """Whether ``run`` is the federation file's run ``base`` or a daily run derived from it."""
    if run == base:
        return True
    m = _DAILY.match(run)
    if not m or m.group(1) != base:
        return False
    try:
        datetime.strptime(m.group(2), "%Y%m%d")
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class StageRequest:
    """One client stage the host asks one account to run."""

    run: str
    rnd: int
    account: str
    stage: str
    params: dict[str, Any]

    @property
    def name(self) -> str:
        return request_name(self.stage, self.params.get("to"), self.params.get("purpose", ""))

    @property
    def key(self) -> str:
        return stage_request(self.run, self.rnd, self.name)

    @property
    def status_key(self) -> str:
        return stage_status(self.run, self.rnd, self.name)

    def context(self) -> dict[str, Any]:
        return {"run": self.run, "round": self.rnd, "account": self.account, "request": self.name}

    def sign(self, host: Identity) -> bytes:
        """The request as the host's signed statement (deterministic: same request, same bytes)."""
        body = signed.canonical({"stage": self.stage, "params": self.params})
        return signed.sign(host, REQUEST, body, self.context())


def make_request(run: str, rnd: int, account: str, stage: str, params: Mapping[str, Any]) -> StageRequest:
    """The request for ``stage`` with exactly the parameters that stage takes (host side)."""
    if stage not in PARAMS:
        raise ValueError(f"unknown client stage {stage!r}")
    chosen = {p: params[p] for p in PARAMS[stage]}
    if params.get(PURPOSE) and stage != "enrol":
        chosen[PURPOSE] = params[PURPOSE]
    return StageRequest(run, rnd, account, stage, chosen)


def digest(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def check_request(blob: bytes, key: str, *, run: str, host: str, account: str, accounts: list[str],
                  pins: Mapping[str, bytes]) -> StageRequest:
    """The request stored under ``key``, if this account's agent may run it; ``RequestRefused`` else.

    ``run`` is the run of the agent's federation file (daily runs derived from it are known
    too), ``host`` the host's name, ``accounts`` the client accounts of the file and ``pins``
    its pinned identities. The request must be a statement signed by the host's pinned key
    for this run, round, account and request name, naming a known stage with exactly that
    stage's parameters, each of the expected shape and naming only known accounts.
    """
    where = parse_stage_request(key)
    if where is None:
        raise RequestRefused(f"{key!r} is not a stage request key")
    req_run, rnd, name = where
    if not known_run(run, req_run):
        raise RequestRefused(f"unknown run {req_run!r}: this federation file knows {run!r} and its daily runs {run}-YYYYMMDD")
    if len(blob) > MAX_REQUEST_BYTES:
        raise RequestRefused(f"a request of {len(blob)} bytes is larger than {MAX_REQUEST_BYTES}")
    context = {"run": req_run, "round": rnd, "account": account, "request": name}
    try:
        body = signed.verify(blob, pins, kind=REQUEST, signer=host, context=context)
    except (IntegrityError, UnknownKey) as exc:
        raise RequestRefused(f"not a request signed by the pinned key of host {host!r}: {exc}") from None
    request = _parse_body(body, req_run, rnd, account, host, accounts)
    if request.name != name:
        raise RequestRefused(f"a {request.stage} request stored as {name!r} (expected {request.name!r})")
    return request


def _parse_body(body: bytes, run: str, rnd: int, account: str, host: str, accounts: list[str]) -> StageRequest:
    try:
        doc = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RequestRefused("the request body is not JSON") from None
    if not isinstance(doc, dict) or set(doc) != {"stage", "params"}:
        raise RequestRefused("a request holds exactly 'stage' and 'params'")
    stage, params = doc["stage"], doc["params"]
    if stage not in PARAMS:
        raise RequestRefused(f"unknown stage {stage!r}; an agent runs only {', '.join(CLIENT_STAGES)}")
    if not isinstance(params, dict) or set(params) - {PURPOSE} != set(PARAMS[stage]):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise RequestRefused(f"stage {stage} takes parameters {list(PARAMS[stage])}; the request has {got}")
    purpose = params.get(PURPOSE, "")
    if PURPOSE in params and (stage == "enrol" or purpose not in PURPOSES or not purpose):
        raise RequestRefused(f"purpose {purpose!r}: a stage of a sum names 'eval' or 'stats', a training round none")
    if purpose == "stats" and rnd != 0:
        raise RequestRefused(f"{stage} of a statistics sum in round {rnd}: statistics are round 0")
    if purpose != "stats" and (stage == "enrol") != (rnd == 0):
        raise RequestRefused(f"{stage} in round {rnd}: enrol is round 0, every other stage a round from 1")
    _check_params(stage, params, account, host, accounts)
    return StageRequest(run, rnd, account, stage, params)


def _names(value: Any, what: str, known: set[str]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or len(set(value)) != len(value):
        raise RequestRefused(f"{what} must be a list of distinct account names")
    unknown = sorted(set(value) - known)
    if unknown:
        raise RequestRefused(f"{what} names accounts this federation does not have: {', '.join(unknown)}")
    return value


def _check_params(stage: str, params: dict[str, Any], account: str, host: str, accounts: list[str]) -> None:
    known = set(accounts)
    if "roster" in params:
        roster = params["roster"]
        if not isinstance(roster, dict) or not all(type(n) is int and n > 0 for n in roster.values()):
            raise RequestRefused("roster must map account names to positive sample counts")
        _names(list(roster), "roster", known)
        if account not in roster:
            raise RequestRefused(f"the roster does not include {account!r}")
    if stage == "ring-hop":
        if params["to"] not in known | {host}:
            raise RequestRefused(f"ring-hop to {params['to']!r}: not an account of this federation nor the host")
        if params["came_from"] is not None and params["came_from"] not in known:
            raise RequestRefused(f"ring-hop from {params['came_from']!r}: not an account of this federation")
    for field in ("survivors", "dropped"):
        if field in params:
            _names(params[field], field, known)
    if "signatures" in params:
        sigs = params["signatures"]
        if not isinstance(sigs, dict):
            raise RequestRefused("signatures must map account names to base64 text")
        _names(list(sigs), "signatures", known)
        for name, text in sigs.items():
            if not isinstance(text, str) or len(text) > MAX_SIGNATURE_CHARS:
                raise RequestRefused(f"the signature of {name} is not base64 text of a signed statement")
            try:
                base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise RequestRefused(f"the signature of {name} is not base64") from None


@dataclass(frozen=True)
class Status:
    """An agent's answer to one request."""

    outcome: Outcome
    result: dict[str, Any]
    error_class: str = ""
    error: str = ""
    request: str | None = None  # SHA-256 of the request answered (None: it could not be read)
    seconds: float = 0.0

    @property
    def described_error(self) -> str:
        return f"{self.error_class}: {self.error}" if self.error_class else self.error

    def sign(self, identity: Identity, *, run: str, rnd: int, name: str) -> bytes:
        error = {"class": self.error_class, "message": self.error} if self.error_class or self.error else None
        body = signed.canonical({"outcome": str(self.outcome), "result": self.result, "error": error,
                                 "request": self.request, "seconds": round(self.seconds, 3)})
        return signed.sign(identity, STATUS, body, {"run": run, "round": rnd, "request": name})


def read_status(blob: bytes, pins: Mapping[str, bytes], *, account: str, run: str, rnd: int, name: str) -> Status:
    """An account's signed status for request ``name``, checked against its pin (``IntegrityError`` else)."""
    body = json.loads(signed.verify(blob, pins, kind=STATUS, signer=account, context={"run": run, "round": rnd, "request": name}))
    try:
        error = body["error"] or {}
        return Status(Outcome(body["outcome"]), dict(body["result"]), str(error.get("class", "")),
                      str(error.get("message", "")), body["request"], float(body["seconds"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise IntegrityError(f"the stage status of {account} for {name} is malformed: {exc}") from None
