"""The deployment path: a local Prefect server, one process worker per account, `fedring run --deployments`.

The host starts every client stage with run_deployment on the account's own work pool;
each stage runs in a worker's subprocess, as it would in that account's cloud.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from fedring.cli.prefect_env import apply_server_settings

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ACCOUNTS = ("account-1", "account-2", "account-3")

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"prefect server not healthy after {timeout} s")


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    """A real Prefect server on loopback with its own home, plus work pools and workers."""
    home = tmp_path_factory.mktemp("prefect-server-home")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_API_URL=url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
        PREFECT_WORKER_QUERY_SECONDS="1",
        PREFECT_WORKER_PREFETCH_SECONDS="1",
    )
    apply_server_settings(env)
    log = open(home / "server.log", "w")
    server = subprocess.Popen(
        [BIN / "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env={k: v for k, v in env.items() if k != "PREFECT_API_URL"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    workers: list[subprocess.Popen] = []
    try:
        _wait_healthy(url, server)
        for pool in ("fedring-host", *(f"fedring-{a}" for a in ACCOUNTS)):
            subprocess.run([BIN / "prefect", "work-pool", "create", pool, "--type", "process"], env=env, check=True, capture_output=True)
        deployed = subprocess.run([BIN / "prefect", "--no-prompt", "deploy", "--all"], cwd=REPO, env=env, capture_output=True, text=True)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        for account in ACCOUNTS:
            wlog = open(home / f"worker-{account}.log", "w")
            workers.append(
                subprocess.Popen(
                    [BIN / "prefect", "worker", "start", "--pool", f"fedring-{account}", "--type", "process"],
                    cwd=REPO, env=env, stdout=wlog, stderr=subprocess.STDOUT, start_new_session=True,
                )
            )
        yield env
    finally:
        for proc in [*workers, server]:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in [*workers, server]:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def test_training_with_client_stages_on_account_work_pools(prefect_server, tmp_path):
    # Prepare: a three-account federation on local storage (absolute paths: workers run elsewhere).
    config = {
        "run": "deployed",
        "accounts": [{"name": a} for a in ACCOUNTS],
        "partition": {"scheme": "iid", "limit": 450},
        "training": {"rounds": 1, "eval_limit": 500},
        "storage": {"kind": "local", "root": str(tmp_path / "storage")},
    }
    path = tmp_path / "federation.yaml"
    path.write_text(yaml.safe_dump(config))
    from fedring.config import build_config
    from fedring.split import simulate_accounts

    simulate_accounts(build_config(**config))  # each account's data in place, as its owner would put it
    # Execute
    done = subprocess.run(
        [BIN / "fedring", "run", "--config", str(path), "--deployments", "--run-dir", str(tmp_path / "out")],
        env=prefect_server, capture_output=True, text=True, timeout=1200,
    )
    # Assert: the round committed, and every client stage ran as a deployment flow run.
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    manifests = sorted((tmp_path / "storage" / "fedring-host" / ".meta" / "runs" / "deployed" / "manifest").glob("*.json"))
    assert [p.name for p in manifests] == ["0000.json.json", "0001.json.json"]
    from fedring.manifest import latest_manifest
    from fedring.storage import host_store

    manifest = latest_manifest(host_store(build_config(**config)), "deployed")
    assert manifest["committed"][0]["participants"] == list(ACCOUNTS)
    runs = _flow_runs(prefect_server["PREFECT_API_URL"])
    by_deployment = {}
    for run in runs:
        if run["deployment_id"] and run["state_type"] == "COMPLETED":
            by_deployment.setdefault(run["flow_name"], set()).add(run["parameters"].get("account"))
    for stage in ("client-enrol", "client-advertise", "client-share-keys", "client-contribute", "client-ring-hop",
                  "client-consistency", "client-reveal"):
        assert by_deployment.get(stage) == set(ACCOUNTS), (stage, by_deployment)


def _flow_runs(api: str) -> list[dict]:
    flows = _post(api, "/flows/filter", {})
    names = {f["id"]: f["name"] for f in flows}
    runs = _post(api, "/flow_runs/filter", {"limit": 200})
    return [{**r, "flow_name": names.get(r["flow_id"]), "state_type": r["state_type"]} for r in runs]


def _post(api: str, path: str, body: dict) -> list[dict]:
    req = urllib.request.Request(f"{api}{path}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())
