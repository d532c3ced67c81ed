"""Four organisations on one machine: each its own Prefect server, home, key directory and credentials.

Used by tests/agents/test_organisations.py. Every organisation runs the real command line
in its own environment, which holds its own cloud credentials and nobody else's; the
host's environment holds the host's. The only channel between them is the buckets on the
shared Ceph radosgw (tenants as cloud accounts) and the cross-account roles.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

from fedring.cli.prefect_env import apply_server_settings

BIN = Path(sys.executable).parent
CLIENTS = ("account-1", "account-2", "account-3")
ORGS = ("host", *CLIENTS)
RUN = "orgs"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check: Callable[[], Any], what: str, timeout: float, every: float = 0.2) -> Any:
    """Poll ``check`` until it returns something truthy; its value. TimeoutError naming ``what`` else."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise TimeoutError(f"{what}: not within {timeout} s")


def api(url: str, path: str, body: dict | None = None) -> Any:
    req = urllib.request.Request(f"{url}{path}", data=json.dumps(body or {}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


@dataclass
class Org:
    """One organisation: its directory, Prefect server, environment and (for clients) its agent."""

    name: str
    root: Path
    env: dict[str, str]
    api_url: str
    server: subprocess.Popen | None = None
    agent: subprocess.Popen | None = None
    logs: list[IO] = field(default_factory=list)

    @property
    def config(self) -> Path:
        return self.root / "federation.yaml"

    @property
    def agent_log(self) -> Path:
        return self.root / "agent.log"

    def fedring(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([BIN / "fedring", *args], env=self.env, capture_output=True, text=True, timeout=timeout)

    def start(self, *args: str, log: str) -> subprocess.Popen:
        out = open(self.root / log, "a")
        self.logs.append(out)
        return subprocess.Popen([BIN / "fedring", *args], env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def start_agent(self) -> None:
        self.agent = self.start("agent", "--config", str(self.config), "--account", self.name, log="agent.log")

    def api(self, path: str, body: dict | None = None) -> Any:
        return api(self.api_url, path, body)

    def flow_runs(self, name_like: str) -> dict[str, list[dict]]:
        """Flow runs on this organisation's Prefect whose name contains ``name_like``, by name."""
        runs = self.api("/flow_runs/filter", {"flow_runs": {"name": {"like_": name_like}}, "limit": 200})
        found: dict[str, list[dict]] = {}
        for r in runs:
            found.setdefault(r["name"], []).append(r)
        return found

    def block_documents(self) -> list[dict]:
        """Every block document on this organisation's Prefect, with its secrets."""
        return [doc for anonymous in (False, True) for doc in self.api(
            "/block_documents/filter",
            {"include_secrets": True, "block_documents": {"is_anonymous": {"eq_": anonymous}}, "limit": 200})]


def _server_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FEDRING_", "AWS_"))}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING")
    return apply_server_settings(env)


def start_servers(base: Path) -> dict[str, Org]:
    """Start one Prefect server per organisation, all at once (they take 20-60 s here); do not wait."""
    orgs = {}
    for name in ORGS:
        root = base / name
        (root / "prefect").mkdir(parents=True)
        port = free_port()
        url = f"http://127.0.0.1:{port}/api"
        env = _server_env(root / "prefect")
        out = open(root / "prefect-server.log", "w")
        server = subprocess.Popen([BIN / "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                  env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        org_env = {**env, "PREFECT_API_URL": url, "PREFECT_LOGGING_LEVEL": "INFO", "FEDRING_KEYS": str(root / "keys")}
        for var in ("FEDRING_DATA", "FEDRING_CACHE"):
            if os.environ.get(var):
                org_env[var] = os.environ[var]
        orgs[name] = Org(name, root, org_env, url, server=server, logs=[out])
    return orgs


def wait_healthy(orgs: dict[str, Org], timeout: float = 240) -> None:
    def healthy(org: Org) -> bool:
        if org.server is not None and org.server.poll() is not None:
            raise RuntimeError(f"the Prefect server of {org.name} exited with {org.server.returncode}; "
                               f"see {org.root / 'prefect-server.log'}")
        try:
            with urllib.request.urlopen(f"{org.api_url}/health", timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    for org in orgs.values():
        wait_for(lambda: healthy(org), f"the Prefect server of {org.name}", timeout, every=0.5)


def parallel(orgs: list[Org], fn: Callable[[Org], Any]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=len(orgs)) as pool:
        return list(pool.map(fn, orgs))


def stop(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    except ProcessLookupError:
        pass


def federation(ceph, *, pins: dict[str, str] | None = None, **overrides: Any) -> dict:
    """The federation file every organisation keeps a copy of (host + 3 clients on Ceph tenants)."""
    p, pins = ceph.principals, pins or {}
    doc = {
        "run": RUN,
        "seed": 0,
        "host": {"name": "host", "account_id": p["host"].tenant, "principal_arn": p["host"].arn, "bucket": "agents-host"},
        "accounts": [{"name": n, "account_id": p[n].tenant, "bucket": f"agents-{n}", "external_id": f"{n}-5c1f0e9ab7"}
                     for n in CLIENTS],
        "partition": {"scheme": "iid", "limit": 450},
        "training": {"rounds": 1, "eval_limit": 500},
        # generous: on a loaded CI machine a healthy agent's stage can take tens of seconds
        "deadlines": {"default_seconds": 300, "first_training_seconds": 300},
        "storage": {"kind": "s3", "endpoint_url": ceph.endpoint, "addressing_style": "path",
                    "trust_external_id": False,  # radosgw 16 cannot evaluate sts:ExternalId (docs/s3.md)
                    "host_role_name": "agents-host-access", "max_attempts": 3},
    }
    for acct in [doc["host"], *doc["accounts"]]:
        if acct["name"] in pins:
            acct["identity"] = pins[acct["name"]]
    for key, value in overrides.items():
        doc[key] = {**doc[key], **value} if isinstance(value, dict) else value
    return doc


def write(path: Path, doc: dict) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path
