"""The ``share`` flow: publish a committed run's global model to the registry.

Reads as the process: load the federation → read extra public keys → publish (open as
host, seal to the policy, sign, write card last) → verify what was written, as a
consumer would → a markdown artifact with the card. Parameters are plain values so the
flow runs as a deployment (``prefect.yaml``) as well as from ``fedring share --flow``.
"""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from tasks.share import load_federation, publish, read_public_documents, verify_version


@flow(name="share", flow_run_name="share-{model}", persist_result=False)
def share(
    model: str,
    policy: str,
    config: str | None = None,
    storage_root: str | None = None,
    run: str | None = None,
    rnd: int | None = None,
    public: list[str] | None = None,
    host: str = "host",
) -> dict:
    """Publish round ``rnd`` (default: last committed) of ``run`` as a new version of ``model``."""
    cfg = load_federation(config, storage_root, run, host)
    documents = read_public_documents(public or [])
    published = publish(cfg, model, policy, rnd, documents)
    verified = verify_version(cfg, model, published["version"])
    create_markdown_artifact(
        key=f"registry-{model}",
        markdown=(f"# {model}:{published['version']}\n\npolicy: `{policy}`\n\n"
                  f"run `{cfg.run}`, envelope {published['envelope_bytes']:,} bytes, "
                  f"verified generation {verified['generation']}\n"),
        description=f"registry version {model}:{published['version']}",
    )
    return published


if __name__ == "__main__":
    import sys

    share(model=sys.argv[1], policy=sys.argv[2], config=sys.argv[3] if len(sys.argv) > 3 else "federation.yaml")
