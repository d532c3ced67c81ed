"""Settings for the Prefect server that fedring starts or talks to, as environment variables.

Applied (without overriding what the user set) before the first flow run, so the
ephemeral server the embedded default starts inherits them; ``deployments/README.md``
passes the same ones to ``prefect server start``. This module imports nothing from
Prefect, so the CLI can apply them before Prefect loads.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

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


# The server a command starts runs what Prefect's ephemeral server runs, plus the UI: these
# services act on deployments, workers and schedules, which a one-run server does not serve.
ONE_RUN_SERVER = {
    f"PREFECT_SERVER_SERVICES_{name}_ENABLED": "false"
    for name in ("SCHEDULER", "LATE_RUNS", "FOREMAN", "PAUSE_EXPIRATIONS", "CANCELLATION_CLEANUP", "REPOSSESSOR",
                 "CLEANUP_RECONCILER")
}


def apply_server_settings(environ: dict[str, str] = os.environ) -> dict[str, str]:
    """Set each setting the environment does not set already; returns the environment."""
    for name, value in SERVER_SETTINGS.items():
        environ.setdefault(name, value)
    return environ


# -- the Prefect server of one command -------------------------------------------------------
#
# Prefect's ephemeral mode starts its server as a plain child process and stops it with an
# atexit hook, so a SIGKILLed or SIGTERMed command leaves the server running. fedring starts
# the server itself instead: a child that the kernel kills when the command dies
# (PR_SET_PDEATHSIG, set before the server's code is loaded), listening on a loopback socket
# the command bound first (no port race), stopped when the command ends.

SERVER_CHILD = """
import ctypes, os, signal, socket, sys
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
if os.getppid() != int(sys.argv[1]):
    sys.exit(0)  # the command died before the line above took effect
import uvicorn
config = uvicorn.Config("prefect.server.api.server:create_app", factory=True, log_level="error", lifespan="on")
uvicorn.Server(config).run(sockets=[socket.socket(fileno=int(sys.argv[2]))])
"""


class PrefectServerError(RuntimeError):
    """The Prefect server fedring started did not come up (its output is in the message)."""


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def _wait_healthy(url: str, proc: subprocess.Popen, log: IO[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    log.seek(0)
    tail = log.read()[-2000:].decode(errors="replace")
    state = f"exited with code {proc.returncode}" if proc.poll() is not None else f"not healthy after {timeout:.0f} s"
    raise PrefectServerError(f"the Prefect server fedring started {state}: {tail}")


@contextmanager
def prefect_server(environ: dict[str, str] = os.environ) -> Iterator[str | None]:
    """A Prefect server for the body of a command, unless ``PREFECT_API_URL`` names one.

    Yields the address of the server and its UI (None when the user's server is used).
    Call it before Prefect is imported: the API URL is read from the environment at
    import. The server runs the services of Prefect's ephemeral server and the UI
    (``ONE_RUN_SERVER``), keeps its database in ``PREFECT_HOME``, and dies with this
    process, however that ends.
    """
    apply_server_settings(environ)
    if environ.get("PREFECT_API_URL"):
        yield None
        return
    sock = _listening_socket()
    port = sock.getsockname()[1]
    env = {**ONE_RUN_SERVER, **environ, "PREFECT__SERVER_FINAL": "1"}
    timeout = float(environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"])
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVER_CHILD, str(os.getpid()), str(sock.fileno())],
            env=env, pass_fds=(sock.fileno(),), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the command, which stops the server after the run
        )
        sock.close()
        address = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(f"{address}/api", proc, log, timeout)
            environ["PREFECT_API_URL"] = f"{address}/api"
            yield address
        finally:
            environ.pop("PREFECT_API_URL", None)
            _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
