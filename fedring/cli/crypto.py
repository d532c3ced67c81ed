"""``fedring authority ...``, ``seal``, ``open``, ``rewrap``, ``header``: envelopes from a shell.

An authority directory holds ``authority.json`` (private, 0600) and ``public.json``
(its public key document, refreshed on every change). A key ring directory (0700)
holds one 0600 file per attribute key. ``-`` means stdin / stdout for IN / OUT.

Context values (``--context round=3``) that look like integers are integers, as the
flows seal them; anything else is a string. (``-c`` is ``--config`` in every command,
so the context has only its long option.) Errors exit with the codes listed in
``fedring.cli``: 2 bad input, 3 policy not satisfied, 4 integrity, 5 unknown key.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, BinaryIO, Optional

import typer
from rich.console import Console

from fedring import envelope
from fedring.cli import PANEL_KEYS
from fedring.cli.params import InArg, JsonOpt, OutArg, check_folder, check_output
from fedring.errors import ConfigError
from fedring.keys import Authority, KeyRing, PublicDirectory, identity_attribute

console = Console(stderr=True, soft_wrap=True)
authority_app = typer.Typer(help="Create an attribute authority, issue, export and rotate keys.")

AuthorityDir = Annotated[Path, typer.Option(
    "--authority", "-a", help="Authority directory (`fedring authority create` makes one).",
    exists=True, file_okay=False)]
PublicFiles = Annotated[list[Path], typer.Option(
    "--public", "-p", help="Public key document (repeatable).", exists=True, dir_okay=False, readable=True)]
ContextOpt = Annotated[Optional[list[str]], typer.Option(  # noqa: UP007 - typer needs Optional
    "--context", help="Context entry key=value (repeatable), e.g. --context run=r1 --context round=3.")]
KeysDir = Annotated[Path, typer.Option("--keys", "-k", help="Key ring directory.", exists=True, file_okay=False)]


def _load_authority(directory: Path) -> Authority:
    return Authority.load(directory / "authority.json")


def load_ring(directory: Path, option: str = "--keys") -> KeyRing:
    """The key ring in ``directory``; a damaged key file is bad input (exit 2), not a crash."""
    try:
        return KeyRing.load(directory)
    except ConfigError:
        raise
    except (ValueError, KeyError, TypeError) as exc:  # JSON or UTF-8 errors are ValueErrors
        raise ConfigError(f"{option} {directory}: a key file there is damaged ({exc}); "
                          "ask its authority to issue the key again") from exc


def _save_authority(authority: Authority, directory: Path) -> None:
    authority.save(directory / "authority.json")
    (directory / "public.json").write_text(json.dumps(authority.public_document(), indent=1))


def _directory(files: list[Path]) -> PublicDirectory:
    docs = []
    for path in files:
        try:
            docs.append(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError) as exc:  # ValueError: not JSON, or not UTF-8
            raise ConfigError(f"--public {path}: cannot read a public key document ({exc})") from exc
    return PublicDirectory.from_documents(docs)


def _context(entries: list[str] | None) -> dict[str, str | int]:
    context: dict[str, str | int] = {}
    for entry in entries or []:
        key, sep, value = entry.partition("=")
        if not sep or not key:
            raise ConfigError(f"--context {entry!r}: expected key=value")
        context[key] = int(value) if re.fullmatch(r"-?[0-9]+", value) else value
    return context


@contextlib.contextmanager
def _source(path: str) -> Iterator[BinaryIO]:
    if path == "-":
        yield sys.stdin.buffer
        return
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    with f:
        yield f


@contextlib.contextmanager
def _sink(path: str) -> Iterator[BinaryIO]:
    """Write to a temporary file next to ``path``, renamed only if the command succeeds."""
    if path == "-":
        yield sys.stdout.buffer
        return
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise


@authority_app.command("create")
def authority_create(
    name: Annotated[str, typer.Argument(help="Account name: lowercase letters, digits, dashes.")],
    directory: Annotated[Path, typer.Option("--dir", "-d", help="Where to keep the authority.",
                                            callback=check_folder)],
    keys: Annotated[Optional[Path], typer.Option(  # noqa: UP007
        help="Key ring for NAME:self.", show_default="DIR/keys", callback=check_folder)] = None,
) -> None:
    """Create an account's authority and issue NAME:self to the account's own key ring."""
    if (directory / "authority.json").exists():
        raise ConfigError(f"--dir {directory}: an authority already exists there")
    authority = Authority.create(name)
    ring = KeyRing([authority.issue(identity_attribute(name))])
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    _save_authority(authority, directory)
    ring.save(keys or directory / "keys")
    console.print(f"authority {name} created in {directory}; {name}:self issued to "
                  f"{keys or directory / 'keys'}")


@authority_app.command("issue")
def authority_issue(
    attribute: Annotated[str, typer.Argument(help="Attribute: name or authority:name.")],
    authority_dir: AuthorityDir,
    to: Annotated[Path, typer.Option("--to", help="The holder's key ring directory (created if missing).",
                                     callback=check_folder)],
    as_json: JsonOpt = False,
) -> None:
    """Issue an attribute's current key to a holder's key ring (creates it at epoch 1)."""
    authority = _load_authority(authority_dir)
    ring = load_ring(to, "--to") if to.is_dir() else KeyRing()
    key = authority.issue(attribute)
    _save_authority(authority, authority_dir)
    ring.add(key)
    ring.save(to)
    if as_json:
        typer.echo(json.dumps({"attribute": key.attribute, "epoch": key.epoch, "key_id": key.key_id,
                               "key_ring": str(to)}))
    else:
        console.print(f"issued {key.attribute} epoch {key.epoch} (key {key.key_id}) to {to}", highlight=False)


@authority_app.command("export")
def authority_export(
    authority_dir: AuthorityDir,
    output: Annotated[str, typer.Option(
        "--output", "-o", metavar="OUT", callback=check_output, help="File to write; - writes stdout.")] = "-",
) -> None:
    """Print (or write) the authority's public key document, to publish to sealers."""
    text = json.dumps(_load_authority(authority_dir).public_document(), indent=1) + "\n"
    with _sink(output) as dst:
        dst.write(text.encode())


@authority_app.command("rotate")
def authority_rotate(
    attribute: Annotated[str, typer.Argument(help="Attribute: name or authority:name.")],
    authority_dir: AuthorityDir,
) -> None:
    """Give an attribute a fresh key at the next epoch; re-issue it to the holders who keep it."""
    authority = _load_authority(authority_dir)
    epoch = authority.rotate(attribute)
    _save_authority(authority, authority_dir)
    full = authority.attribute(attribute)
    console.print(f"{full} is now at epoch {epoch}: publish public.json, re-issue it to the "
                  "holders who keep it, and rewrap old envelopes they must still open")


def seal(
    policy: Annotated[str, typer.Option("--policy", help="e.g. 'acme:self or 2 of (a:x, b:y, c:z)'")],
    public: PublicFiles,
    source: InArg,
    target: OutArg,
    context: ContextOpt = None,
    content_type: Annotated[str, typer.Option(help="Media type of the payload.")] = (
        "application/octet-stream"),
) -> None:
    """Seal IN to a policy, writing the envelope to OUT."""
    directory, sealed_context = _directory(public), _context(context)
    with _source(source) as src, _sink(target) as dst:
        envelope.seal(policy, directory, src, dst, context=sealed_context, content_type=content_type)


def open_(
    keys: KeysDir,
    source: InArg,
    target: OutArg,
    context: ContextOpt = None,
) -> None:
    """Open the envelope IN with a key ring; the context must equal the sealed one."""
    ring, expected = load_ring(keys), _context(context)
    with _source(source) as src, _sink(target) as dst:
        envelope.open(ring, src, dst, context=expected)


def rewrap(
    keys: KeysDir,
    public: PublicFiles,
    source: InArg,
    target: OutArg,
    policy: Annotated[Optional[str], typer.Option(  # noqa: UP007
        help="New policy.", show_default="keep the envelope's policy")] = None,
) -> None:
    """Re-wrap IN's content key to current epochs (optionally a new policy); payload unchanged."""
    ring, directory = load_ring(keys), _directory(public)
    with _source(source) as src, _sink(target) as dst:
        envelope.rewrap(ring, directory, src, dst, policy=policy)


def header(source: InArg) -> None:
    """Show an envelope's policy, context and recipients (no keys needed, not authenticated)."""
    with _source(source) as src:
        h = envelope.read_header(src)
    typer.echo(json.dumps({
        "policy": h.policy, "context": h.context, "content_type": h.content_type,
        "chunk_size": h.chunk_size,
        "clauses": [[f"{r.attribute}@{r.epoch} ({r.key_id})" for r in c] for c in h.clauses],
    }, indent=1))


def register(app: typer.Typer) -> None:
    """Add the envelope commands to the ``fedring`` app."""
    app.add_typer(authority_app, name="authority", rich_help_panel=PANEL_KEYS)
    for name, command in (("seal", seal), ("open", open_), ("rewrap", rewrap), ("header", header)):
        app.command(name, rich_help_panel=PANEL_KEYS)(command)
