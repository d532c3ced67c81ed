"""Find the host's bucket and the federation from what a command line gives.

Either a federation file (``--config``), or, for the embedded local default, the storage
root directory (``--storage-root``) with the host's name: the host's bucket is then
``<root>/fedring-<host>``, and the federation's configuration is read back from the run's
manifest (it records the whole configuration), with the storage root replaced by the one
given, so a run directory can be moved or mounted elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from fedring.config import FederationConfig, load_config, with_run
from fedring.errors import ConfigError
from fedring.layout import check_name
from fedring.storage import LocalStore, Store


def host_bucket(storage_root: Path, host: str = "host") -> Store:
    """The host's bucket under a local storage root (read-only use needs nothing else)."""
    if not storage_root.is_dir():
        raise ConfigError(f"--storage-root {storage_root}: no such directory")
    check_name("host", host)
    return LocalStore(storage_root, f"fedring-{host}", account=host)


def federation(config: Path | None, storage_root: Path | None, run: str | None, host: str = "host") -> FederationConfig:
    """The federation to publish from: the file, or the run's manifest under a local root."""
    if config is not None:
        cfg = load_config(config)
        return with_run(cfg, run) if run else cfg
    if storage_root is None:
        raise ConfigError("say where the federation is: --config FILE or --storage-root DIR")
    if not run:
        raise ConfigError("--run: with --storage-root, name the run to share")
    from fedring.manifest import latest_manifest  # torch: only publishing and revoking get here

    manifest = latest_manifest(host_bucket(storage_root, host), check_name("run id", run))
    if manifest is None:
        raise ConfigError(f"--run {run}: no manifest in {storage_root}/fedring-{host} (wrong run id or root?)")
    data = dict(manifest["config"])
    data["storage"] = {**data.get("storage", {}), "kind": "local", "root": str(storage_root)}
    return FederationConfig.model_validate(data)


def registry_store(config: Path | None, storage_root: Path | None, host: str = "host", *,
                   role_arn: str | None = None) -> Store:
    """The host's bucket, from a federation file or a local storage root.

    ``role_arn`` (S3 only): read through a registry reader role, assumed with the caller's
    own credentials from boto3's default chain (``AWS_*`` variables, profile, instance role);
    otherwise the host's own credentials are used (``docs/s3.md``).
    """
    if config is not None:
        cfg = load_config(config)
        if role_arn is None:
            from fedring.storage import host_store

            return host_store(cfg)
        if cfg.storage.kind != "s3":
            raise ConfigError("--role-arn needs a federation on S3 (storage.kind: s3)")
        import boto3

        from fedring.registry.access import reader_store

        return reader_store(boto3.Session(), bucket=cfg.host.bucket_name, role_arn=role_arn,
                            endpoint_url=cfg.endpoint_for(cfg.host), region=cfg.host.region,
                            addressing_style=cfg.storage.addressing_style, account=cfg.host.name)
    if storage_root is None:
        raise ConfigError("say where the registry is: --config FILE or --storage-root DIR")
    return host_bucket(storage_root, host)
