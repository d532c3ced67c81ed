"""``fedring agent``: an organisation's client agent (see flows/agent_service.py and docs/deploy.md).

It runs until Ctrl-C or SIGTERM (exit 0), answering the host's stage requests with this
organisation's own federation file, keys, credentials and Prefect (``PREFECT_API_URL``,
else an ephemeral server of its own). Logs go to stderr, one line per request.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated, Optional

import typer
from rich.console import Console

from fedring.cli import PANEL_TRAIN
from fedring.cli.params import ConfigFile
from fedring.cli.stop import stop_signals
from fedring.config import load_config
from fedring.errors import ConfigError

console = Console(stderr=True, soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command(rich_help_panel=PANEL_TRAIN)
    def agent(
        config: ConfigFile,
        account: Annotated[str, typer.Option("--account", "-a", help="The client account this agent acts for.")],
        max_interval: Annotated[float, typer.Option(min=0.05, help="Longest pause between two looks at the inbox (s).")] = 1.0,
        max_idle: Annotated[Optional[float], typer.Option(help="Stop after this many seconds without a request.")] = None,
        credentials_block: Annotated[Optional[str], typer.Option(
            help="A prefect-aws AwsCredentials block on this organisation's Prefect holding its own keys.")] = None,
    ) -> None:
        """Answer the host's stage requests for ACCOUNT until Ctrl-C or SIGTERM."""
        cfg = load_config(config)
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")  # stage flow runs show their logs at INFO
        from fedring.cli.prefect_env import apply_server_settings

        apply_server_settings()
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
        logging.getLogger("fedring.agent").setLevel(logging.INFO)
        from flows.agent_service import Agent, check_prefect

        if credentials_block:
            _export_block_credentials(cfg.account(account).env_prefix, credentials_block)
        agent_ = Agent.create(cfg, account, max_interval=max_interval)
        check_prefect()
        with stop_signals() as stop:
            try:
                agent_.serve(stop, max_idle=max_idle)
            except KeyboardInterrupt:
                pass
            stopped = stop.is_set()
        if stopped:
            console.print(f"agent of {account} stopped; a request in flight stays in its inbox for the next start")


def _export_block_credentials(env_prefix: str, block: str) -> None:
    """This organisation's keys from its own AwsCredentials block, for this process only."""
    from prefect_aws import AwsCredentials

    found = AwsCredentials.load(block).get_boto3_session().get_credentials()
    if found is None:
        raise ConfigError(f"--credentials-block {block!r} holds no credentials")
    creds = found.get_frozen_credentials()
    os.environ[env_prefix + "ACCESS_KEY_ID"] = creds.access_key
    os.environ[env_prefix + "SECRET_ACCESS_KEY"] = creds.secret_key
    if creds.token:
        os.environ[env_prefix + "SESSION_TOKEN"] = creds.token
