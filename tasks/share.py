"""Tasks of the ``share`` flow: thin wrappers over ``fedring.registry``."""

from __future__ import annotations

import json
from pathlib import Path

from prefect import get_run_logger, task

from fedring.config import FederationConfig
from fedring.registry import locate, verify
from fedring.registry.publish import share
from fedring.storage import host_store
from tasks._retry import RETRY_OPTIONS


@task(name="load-federation", task_run_name="load-federation", persist_result=False)
def load_federation(config: str | None, storage_root: str | None, run: str | None, host: str) -> FederationConfig:
    """The federation from its file, or from the run's manifest under a local storage root."""
    return locate.federation(Path(config) if config else None, Path(storage_root) if storage_root else None, run, host)


@task(name="read-public-documents", task_run_name="read-public-documents", persist_result=False)
def read_public_documents(paths: list[str]) -> list[dict]:
    """Extra authorities' public key documents (external authorities, fresh issues)."""
    return [json.loads(Path(p).read_text()) for p in paths]


@task(name="publish-version", task_run_name="publish-{model}", persist_result=False, **RETRY_OPTIONS)
def publish(cfg: FederationConfig, model: str, policy: str, rnd: int | None, documents: list[dict]) -> dict:
    """Open the committed model as host, seal it to the policy, sign and write a new version."""
    published = share(cfg, model=model, policy=policy, rnd=rnd, public_documents=documents)
    get_run_logger().info("published %s:%d under %r", published.model, published.version, policy)
    return published.as_dict()


@task(name="verify-version", task_run_name="verify-{model}-{version}", persist_result=False, **RETRY_OPTIONS)
def verify_version(cfg: FederationConfig, model: str, version: int) -> dict:
    """Read the version back and check it as any consumer would, without keys."""
    report = verify.verify_all(host_store(cfg), model=model)
    row = next(r for r in report.results if r["version"] == version)
    if not row["ok"]:
        from fedring.errors import IntegrityError

        raise IntegrityError(f"{model}:{version} failed verification after publishing: {row['error']}")
    return row
