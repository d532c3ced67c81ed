"""``fedring share``, ``fedring models list|show|verify|revoke`` and ``fedring predict``.

Where the registry is: ``--config federation.yaml`` (any storage kind), or, for the
embedded local default, ``--storage-root DIR`` (the run directory's ``storage``) with
``--host`` if the host is not called ``host``. Publishing and revoking need the host's
keys (``keys/<host>/`` beside the storage root, or ``$FEDRING_KEYS``); listing, showing
and verifying need read access only; predicting needs a key ring (``--keys``).

Nothing here imports Prefect, except ``fedring share --flow``, which runs the ``share``
flow. Exit codes are ``fedring.cli``'s; ``predict`` exits 0 if at least one input was
predicted and 2 if every input failed (each failure is reported per file).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from fedring.cli import PANEL_SHARE
from fedring.cli.params import JsonOpt, check_run_id
from fedring.cli.params import OptionalConfigFile as ConfigOpt
from fedring.errors import ConfigError, IntegrityError

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
models_app = typer.Typer(help="The model registry: list, show, verify, revoke.")

RootOpt = Annotated[Optional[Path], typer.Option(  # noqa: UP007
    "--storage-root", metavar="DIR", help="Local storage root (RUN_DIR/storage).", exists=True, file_okay=False)]
HostOpt = Annotated[str, typer.Option("--host", help="The host account's name (with --storage-root).")]
RoleOpt = Annotated[Optional[str], typer.Option(  # noqa: UP007
    "--role-arn", help="With --config on S3: read the registry through this reader role (your own credentials).")]
SignerOpt = Annotated[Optional[str], typer.Option("--signer", help="Pin the publisher's Ed25519 key (hex).")]  # noqa: UP007
PublicOpt = Annotated[Optional[list[Path]], typer.Option(  # noqa: UP007
    "--public", "-p", help="Extra authority public key document (repeatable).")]


def _docs(files: list[Path] | None) -> list[dict]:
    docs = []
    for path in files or []:
        try:
            docs.append(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"--public {path}: cannot read a public key document ({exc})") from exc
    return docs


def _signer(text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ConfigError("--signer: expected the publisher's 32-byte Ed25519 key as 64 hex digits")
    return key


def _where(config: Path | None, root: Path | None) -> None:
    """One of --config and --storage-root must say where the registry is (a usage error otherwise)."""
    if config is None and root is None:
        raise typer.BadParameter("say where the registry is: a federation file, or the local storage root "
                                 "(RUN_DIR/storage)", param_hint="--config / --storage-root")


def _store(config: Path | None, root: Path | None, host: str, role_arn: str | None = None):
    from fedring.registry.locate import registry_store

    _where(config, root)
    return registry_store(config, root, host, role_arn=role_arn)


def share(
    model: Annotated[str, typer.Option("--model", "-m", help="Model name (lowercase, digits, dashes).")],
    policy: Annotated[str, typer.Option("--policy", help="Who may open it, e.g. 'account-1:researcher'.")],
    run: Annotated[Optional[str], typer.Option(  # noqa: UP007
        callback=check_run_id, help="Run to share.", show_default="the federation file's run")] = None,
    rnd: Annotated[Optional[int], typer.Option(  # noqa: UP007
        "--round", min=1, help="Committed round.", show_default="the last")] = None,
    public: PublicOpt = None,
    config: ConfigOpt = None,
    storage_root: RootOpt = None,
    host: HostOpt = "host",
    flow: Annotated[bool, typer.Option("--flow", help="Run as the Prefect flow 'share'.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Publish a committed run's global model as a new registry version, sealed to POLICY."""
    if flow:
        from fedring.cli.prefect_env import apply_server_settings

        apply_server_settings()
        from flows.share import share as share_flow

        result = share_flow(model=model, policy=policy, config=str(config) if config else None,
                            storage_root=str(storage_root) if storage_root else None, run=run, rnd=rnd,
                            public=[str(p) for p in public or []], host=host)
    else:
        _where(config, storage_root)
        from fedring.registry.locate import federation
        from fedring.registry.publish import share as publish

        cfg = federation(config, storage_root, run, host)
        result = publish(cfg, model=model, policy=policy, rnd=rnd, public_documents=_docs(public)).as_dict()
    if as_json:
        typer.echo(json.dumps(result, indent=1))
    else:
        console.print(f"published {result['model']}:{result['version']} (policy {result['policy']!r}, "
                      f"{result['envelope_bytes']:,} bytes sealed for {result['weights_bytes']:,} bytes of weights)")


def _accuracy(row: dict) -> str:
    """``accuracy 98.10%`` (host test set) and/or ``federated accuracy 97.90%``; ``-`` with neither."""
    found = [f"{what} {row[key]:.2%}" for key, what in (("accuracy", "accuracy"), ("federated_accuracy", "federated accuracy"))
             if row.get(key) is not None]
    return "  ".join(found) or "accuracy -"


@models_app.command("list")
def list_(config: ConfigOpt = None, storage_root: RootOpt = None, host: HostOpt = "host", role_arn: RoleOpt = None,
          as_json: JsonOpt = False) -> None:
    """Every version, the policy that guards it and its test accuracy (no keys needed)."""
    from fedring.registry.catalog import listing

    rows = listing(_store(config, storage_root, host, role_arn))
    if as_json:
        typer.echo(json.dumps(rows, indent=1))
        return
    if not rows:
        typer.echo("the registry is empty")
    for r in rows:
        typer.echo(f"{r['model']}:{r['version']}  policy: {r['policy']}  sealed to: {r['envelope_policy']}  "
                   f"generation {r['generation']}  {_accuracy(r)}  run {r['run']} round {r['round']}"
                   f"  {r['created']}")


@models_app.command("show")
def show(
    model: Annotated[str, typer.Argument(metavar="NAME[:VERSION]")],
    config: ConfigOpt = None, storage_root: RootOpt = None, host: HostOpt = "host", role_arn: RoleOpt = None,
) -> None:
    """The model card of a version (its latest if no version is given), as JSON."""
    from fedring.registry.catalog import show as card
    from fedring.registry.ref import ModelRef

    typer.echo(json.dumps(card(_store(config, storage_root, host, role_arn), ModelRef.parse(model)), indent=1, sort_keys=True))


@models_app.command("verify")
def verify(
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Only this model.")] = None,  # noqa: UP007
    signer: SignerOpt = None,
    config: ConfigOpt = None, storage_root: RootOpt = None, host: HostOpt = "host", role_arn: RoleOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check every version's signature, card and envelope framing, without any attribute key."""
    from fedring.registry.verify import verify_all

    report = verify_all(_store(config, storage_root, host, role_arn), model=model, signing_key=_signer(signer))
    if as_json:
        typer.echo(json.dumps(report.results, indent=1))
    else:
        for r in report.results:
            what = f"{r['model']}:{r['version']}"
            console.print(f"{what}: ok (generation {r['generation']})" if r["ok"] else f"{what}: FAILED {r['error']}",
                          highlight=False)
    if not report.ok:
        raise IntegrityError(f"{sum(not r['ok'] for r in report.results)} version(s) failed verification")


@models_app.command("revoke")
def revoke(
    attribute: Annotated[str, typer.Argument(help="Attribute to rotate, e.g. account-1:researcher.")],
    authority: Annotated[Optional[Path], typer.Option(  # noqa: UP007
        "--authority", "-a", help="Authority directory.", exists=True, file_okay=False,
        show_default="the issuing account's key directory")] = None,
    rotate: Annotated[bool, typer.Option(help="Rotate first (--no-rotate: only rewrap, to finish a revocation).")] = True,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Only this model.")] = None,  # noqa: UP007
    run: Annotated[Optional[str], typer.Option(  # noqa: UP007
        callback=check_run_id, help="A run of the federation (with --storage-root).",
        show_default="the run of the latest shared version")] = None,
    public: PublicOpt = None,
    config: ConfigOpt = None, storage_root: RootOpt = None, host: HostOpt = "host", as_json: JsonOpt = False,
) -> None:
    """Rotate ATTRIBUTE and re-wrap every registry envelope that names it (payloads untouched)."""
    from fedring.registry.locate import federation
    from fedring.registry.revoke import revoke as run_revoke

    _where(config, storage_root)
    if run is None and config is None and storage_root is not None:
        run = _shared_run(_store(None, storage_root, host))
    cfg = federation(config, storage_root, run, host)
    report = run_revoke(cfg, attribute=attribute, authority_dir=authority, rotate_first=rotate,
                        public_documents=_docs(public), model=model)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=1))
        return
    console.print(f"{attribute} is at epoch {report.epoch}; rewrapped {len(report.rewrapped)} version(s), "
                  f"{len(report.unchanged)} unchanged", highlight=False)
    for r in report.rewrapped:
        console.print(f"  {r['model']}:{r['version']} -> generation {r['generation']} (epoch {r['from_epoch']} -> "
                      f"{r['to_epoch']}, {r['payload_bytes_copied']:,} payload bytes copied, not re-encrypted)",
                      highlight=False)
    for key in report.deleted:
        console.print(f"  deleted superseded {key}", highlight=False)


def _shared_run(store) -> str:
    from fedring.registry.catalog import listing

    rows = listing(store)
    if not rows:
        raise ConfigError("--run: the registry is empty, name a run of the federation")
    return rows[-1]["run"]


def predict(
    model: Annotated[str, typer.Option("--model", "-m", metavar="NAME[:VERSION]", help="Registry model.")],
    keys: Annotated[Path, typer.Option("--keys", "-k", help="Your key ring directory.", exists=True, file_okay=False)],
    inputs: Annotated[list[Path], typer.Argument(metavar="INPUT...", help="PNG/JPEG images or .npy arrays.")],
    signer: SignerOpt = None,
    config: ConfigOpt = None, storage_root: RootOpt = None, host: HostOpt = "host", role_arn: RoleOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Predict the digit in each input with a shared model; bad inputs are reported per file."""
    import numpy as np

    from fedring.registry.consume import load_model, predict as infer
    from fedring.ml.inputs import decode_all

    decoded = decode_all(inputs)
    good = [d for d in decoded if d.error is None]
    results: dict[str, list[dict]] = {d.source: [] for d in decoded}
    if good:
        from fedring.cli.crypto import load_ring
        from fedring.registry.consume import DIGIT_WORKLOADS

        shared = load_model(_store(config, storage_root, host, role_arn), model, load_ring(keys),
                            signing_key=_signer(signer))
        if shared.card["workload"]["name"] not in DIGIT_WORKLOADS:
            raise ConfigError(f"model {model} is workload {shared.card['workload']['name']!r}: `fedring predict` reads "
                              f"digit images ({', '.join(DIGIT_WORKLOADS)}); load it with fedring.registry.load_model")
        digits, probs = infer(shared.module, np.concatenate([d.images for d in good]))
        names = [(d.source, n) for d in good for n in d.names]
        for (source, name), digit, p in zip(names, digits, probs, strict=True):
            results[source].append({"input": name, "digit": int(digit), "probability": round(float(p), 6)})
    for d in decoded:
        if d.error is not None:
            results[d.source].append({"input": d.source, "error": d.error})
    rows = [row for d in decoded for row in results[d.source]]
    if as_json:
        typer.echo(json.dumps({"model": model, "predictions": rows}, indent=1))
    else:
        for row in rows:
            if "error" in row:
                err.print(f"{row['input']}: error: {row['error']}", highlight=False)
            else:
                typer.echo(f"{row['input']}: {row['digit']} (p={row['probability']:.3f})")
    if not good:
        raise ConfigError(f"none of the {len(decoded)} input(s) could be used (reasons above)")


def register(app: typer.Typer) -> None:
    """Add the registry commands to the ``fedring`` app."""
    app.command("share", rich_help_panel=PANEL_SHARE)(share)
    app.command("predict", rich_help_panel=PANEL_SHARE)(predict)
    app.add_typer(models_app, name="models", rich_help_panel=PANEL_SHARE)
