"""Stage requests and statuses: what an agent accepts, what it refuses (and why), tamper tests."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedring.agent import PARAMS, Outcome, Status, check_request, daily_run, known_run, make_request, read_status
from fedring.agent.requests import MAX_REQUEST_BYTES
from fedring.errors import IntegrityError, RequestRefused
from fedring.keys import Identity, signed
from fedring.layout import CLIENT_STAGES, stage_request

HOST = Identity.create("host")
ALPHA = Identity.create("alpha")
IMPOSTOR = Identity.create("host")  # claims the host's name; its key is not the pinned one
PINS = {"host": HOST.signing_public, "alpha": ALPHA.signing_public}
ACCOUNTS = ["alpha", "beta", "gamma"]
ROSTER = {"alpha": 150, "beta": 150, "gamma": 150}
PARAMS_OK = {
    "roster": ROSTER, "to": "beta", "came_from": None, "survivors": ["alpha", "beta"], "dropped": ["gamma"],
    "signatures": {"alpha": base64.b64encode(b"FRSIG1\n{}").decode()},
}


def _check(blob: bytes, key: str, run: str = "demo"):
    return check_request(blob, key, run=run, host="host", account="alpha", accounts=ACCOUNTS, pins=PINS)


def _forge(run: str, rnd: int, name: str, body: dict, *, by: Identity = HOST, account: str = "alpha") -> tuple[bytes, str]:
    """A request with any body, signed by ``by`` for (run, round, account, name)."""
    blob = signed.sign(by, "stage-request", signed.canonical(body),
                       {"run": run, "round": rnd, "account": account, "request": name})
    return blob, stage_request(run, rnd, name)


@pytest.mark.parametrize("stage", CLIENT_STAGES)
def test_every_client_stage_round_trips(stage):
    rnd = 0 if stage == "enrol" else 3
    request = make_request("demo", rnd, "alpha", stage, PARAMS_OK)
    found = _check(request.sign(HOST), request.key)
    assert found == request
    assert sorted(found.params) == sorted(PARAMS[stage])


def test_signing_is_deterministic_so_a_resumed_host_writes_the_same_bytes():
    request = make_request("demo", 2, "alpha", "contribute", {"roster": ROSTER, "ignored": 1})
    assert request.sign(HOST) == request.sign(HOST)
    assert request.params == {"roster": ROSTER}  # make_request keeps only the stage's parameters


def test_a_daily_run_of_the_file_run_is_known():
    request = make_request(daily_run("demo", datetime(2026, 11, 28, tzinfo=timezone.utc)), 1, "alpha", "advertise", PARAMS_OK)
    assert request.run == "demo-20261128"
    assert _check(request.sign(HOST), request.key).run == "demo-20261128"


@pytest.mark.parametrize("run,known", [("demo", True), ("demo-20261128", True), ("demo-20261399", False),
                                       ("demo-2026112", False), ("other", False), ("demo-x-20261128", False),
                                       ("demox-20261128", False)])
def test_known_runs(run, known):
    assert known_run("demo", run) is known


@pytest.mark.parametrize("stage", [s for s in CLIENT_STAGES if s != "enrol"])
@pytest.mark.parametrize("purpose,rnd", [("eval", 3), ("stats", 0)])
def test_a_stage_of_a_sum_without_training_names_its_purpose(stage, purpose, rnd):
    request = make_request("demo", rnd, "alpha", stage, {**PARAMS_OK, "purpose": purpose})
    found = _check(request.sign(HOST), request.key)
    assert found == request and found.params["purpose"] == purpose
    assert found.name.startswith(f"{purpose}-{stage}")  # its own request and status keys, apart from training's


REFUSALS = [
    ("a purpose that is not a sum's", lambda: _forge("demo", 1, "contribute", {"stage": "contribute", "params": {"roster": ROSTER, "purpose": "train"}}),
     "purpose 'train': a stage of a sum names 'eval' or 'stats', a training round none"),
    ("statistics after round 0", lambda: _forge("demo", 2, "stats-contribute", {"stage": "contribute", "params": {"roster": ROSTER, "purpose": "stats"}}),
     "contribute of a statistics sum in round 2: statistics are round 0"),
    ("a key not pinned for the host", lambda: _forge("demo", 1, "contribute", {"stage": "contribute", "params": {"roster": ROSTER}}, by=IMPOSTOR),
     "not a request signed by the pinned key of host 'host': a stage-request statement from host: the signature is not made by host's pinned identity key"),
    ("an unknown run", lambda: _forge("other", 1, "contribute", {"stage": "contribute", "params": {"roster": ROSTER}}),
     "unknown run 'other': this federation file knows 'demo' and its daily runs demo-YYYYMMDD"),
    ("an unknown stage", lambda: _forge("demo", 1, "shell", {"stage": "shell", "params": {"command": "id"}}),
     "unknown stage 'shell'; an agent runs only enrol, advertise, share-keys, contribute, ring-hop, consistency, reveal"),
    ("a command beside a known stage", lambda: _forge("demo", 1, "contribute", {"stage": "contribute", "params": {"roster": ROSTER, "command": "id"}}),
     "stage contribute takes parameters ['roster']; the request has ['command', 'roster']"),
    ("code beside the stage", lambda: _forge("demo", 1, "contribute", {"stage": "contribute", "params": {"roster": ROSTER}, "entrypoint": "x.py:f"}),
     "a request holds exactly 'stage' and 'params'"),
    ("a missing parameter", lambda: _forge("demo", 1, "ring-hop-to-beta", {"stage": "ring-hop", "params": {"roster": ROSTER, "to": "beta"}}),
     "stage ring-hop takes parameters ['roster', 'to', 'came_from']; the request has ['roster', 'to']"),
    ("a request stored under another name", lambda: (_forge("demo", 1, "advertise", {"stage": "contribute", "params": {"roster": ROSTER}})),
     "a contribute request stored as 'advertise' (expected 'contribute')"),
    ("enrol outside round 0", lambda: _forge("demo", 2, "enrol", {"stage": "enrol", "params": {}}),
     "enrol in round 2: enrol is round 0, every other stage a round from 1"),
    ("an account not in the federation", lambda: _forge("demo", 1, "contribute", {"stage": "contribute", "params": {"roster": {**ROSTER, "mallory": 5}}}),
     "roster names accounts this federation does not have: mallory"),
    ("a roster without this account", lambda: _forge("demo", 1, "contribute", {"stage": "contribute", "params": {"roster": {"beta": 5, "gamma": 5}}}),
     "the roster does not include 'alpha'"),
    ("a boolean sample count", lambda: _forge("demo", 1, "contribute", {"stage": "contribute", "params": {"roster": {**ROSTER, "alpha": True}}}),
     "roster must map account names to positive sample counts"),
    ("a hop to a stranger", lambda: _forge("demo", 1, "ring-hop-to-mallory", {"stage": "ring-hop", "params": {"roster": ROSTER, "to": "mallory", "came_from": None}}),
     "ring-hop to 'mallory': not an account of this federation nor the host"),
    ("duplicate survivors", lambda: _forge("demo", 1, "consistency", {"stage": "consistency", "params": {"roster": ROSTER, "survivors": ["beta", "beta"], "dropped": []}}),
     "survivors must be a list of distinct account names"),
    ("a signature that is not base64", lambda: _forge("demo", 1, "reveal", {"stage": "reveal", "params": {**{k: PARAMS_OK[k] for k in PARAMS["reveal"]}, "signatures": {"beta": "not base64!"}}}),
     "the signature of beta is not base64"),
]


@pytest.mark.parametrize("what,make,reason", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusals_name_the_reason(what, make, reason):
    blob, key = make()
    with pytest.raises(RequestRefused) as refused:
        _check(blob, key)
    assert str(refused.value) == reason


@pytest.mark.parametrize("field,value", [("run", "demo2"), ("round", 4), ("account", "beta"), ("request", "advertise")])
def test_a_request_moved_to_another_run_round_account_or_name_is_refused(field, value):
    request = make_request("demo", 3, "alpha", "contribute", PARAMS_OK)
    context = {"run": "demo", "round": 3, "account": "alpha", "request": "contribute", field: value}
    blob = signed.sign(HOST, "stage-request", signed.canonical({"stage": "contribute", "params": request.params}), context)
    with pytest.raises(RequestRefused, match="replayed or moved"):
        _check(blob, request.key)


def test_garbage_and_oversized_requests_are_refused_unread():
    key = stage_request("demo", 1, "contribute")
    with pytest.raises(RequestRefused, match="not a signed statement"):
        _check(b"#!/bin/sh\nrm -rf /\n", key)
    with pytest.raises(RequestRefused, match=f"larger than {MAX_REQUEST_BYTES}"):
        _check(b"x" * (MAX_REQUEST_BYTES + 1), key)
    with pytest.raises(RequestRefused, match="is not a stage request key"):
        _check(b"", "inbox/_requests/demo/1/contribute")


@settings(max_examples=200, deadline=None)
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_any_flipped_bit_is_refused(position, bit):
    request = make_request("demo", 3, "alpha", "consistency", PARAMS_OK)
    blob = bytearray(request.sign(HOST))
    blob[position % len(blob)] ^= 1 << bit
    with pytest.raises(RequestRefused):
        _check(bytes(blob), request.key)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=10)


@settings(max_examples=300, deadline=None)
@given(stage=st.sampled_from([*CLIENT_STAGES, "shell", ""]), params=st.dictionaries(
    st.sampled_from(["roster", "to", "came_from", "survivors", "dropped", "signatures", "command", "cfg"]), JSON, max_size=6))
def test_a_host_signed_request_is_accepted_only_with_exactly_its_stage_parameters(stage, params):
    # Whatever the host signs, the agent either refuses it (RequestRefused, never another
    # error) or gets a known stage with exactly that stage's parameters.
    to = params.get("to")
    name = f"ring-hop-to-{to}" if stage == "ring-hop" and isinstance(to, str) else stage or "x"
    rnd = 0 if stage == "enrol" else 1
    blob = signed.sign(HOST, "stage-request", signed.canonical({"stage": stage, "params": params}),
                       {"run": "demo", "round": rnd, "account": "alpha", "request": name})
    try:
        found = _check(blob, stage_request("demo", rnd, name))
    except RequestRefused:
        return
    assert found.stage in CLIENT_STAGES and set(found.params) == set(PARAMS[found.stage])


def test_status_round_trip_and_tamper():
    status = Status(Outcome.DROPOUT, {}, "NonFiniteUpdate", "NaN in the update", "ab" * 32, 1.5)
    blob = status.sign(ALPHA, run="demo", rnd=2, name="contribute")
    assert read_status(blob, PINS, account="alpha", run="demo", rnd=2, name="contribute") == status
    assert status.described_error == "NonFiniteUpdate: NaN in the update"
    with pytest.raises(IntegrityError, match="replayed or moved"):
        read_status(blob, PINS, account="alpha", run="demo", rnd=3, name="contribute")
    with pytest.raises(IntegrityError, match="signed by 'alpha', not 'beta'"):
        read_status(blob, PINS, account="beta", run="demo", rnd=2, name="contribute")
    header, body = blob.split(b"\n", 2)[1:]
    forged = b"FRSIG1\n" + header + b"\n" + body.replace(b'"dropout"', b'"ok"')
    with pytest.raises(IntegrityError, match="tampered"):
        read_status(forged, PINS, account="alpha", run="demo", rnd=2, name="contribute")
    by_host = signed.sign(HOST, "stage-status", json.dumps({}).encode(), {"run": "demo", "round": 2, "request": "contribute"})
    with pytest.raises(IntegrityError, match="signed by 'host', not 'alpha'"):
        read_status(by_host, PINS, account="alpha", run="demo", rnd=2, name="contribute")
