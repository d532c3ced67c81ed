"""Every object key of a federation, in one place; host and clients import the same names.

Client bucket ``B_i``::

    data/images.npy, data/labels.npy            the demo's simulated partition (``fedring demo``)
    data/manifest.json                          its size and label histogram
    data/<split>.csv | data/<split>.parquet     an owner's own data as a table (split: train, eval)
    data/<split>/features.npy, labels.npy       ... as arrays
    data/<split>/<class>/<image>                ... as a folder of images by class
    public/keys/<n>-<digest>.json               its authority's public keys, version n (latest wins)
    outbox/<run>/<round>/<stage>/<name>         what the host may read
    inbox/<run>/<round>/<stage>/<name>          what the host may write
    private/<run>/<round>/<stage>/<name>        its own state, sealed to itself

Host bucket ``B_h``::

    runs/<run>/manifest/<n>.json                manifest after n committed rounds (0 = start)
    runs/<run>/rounds/<r>/model                 global model after round r (0 = initial)
    runs/<run>/rounds/<r>/metrics.json          evaluation and stage timings of round r
    runs/<run>/rounds/<r>/<stage>/<name>        host-side stage outputs (ring sums, records)
    runs/<run>/lease/<n>.json                   run lease, generation n (``fedring.lease``)
    registry/<model>/<version>/...              shared models (see "Registry" below)

Manifests are immutable like every object: committing round r writes manifest ``r``
last, and the latest manifest is the one with the highest number.

The objects of one round, by step (``fedring/round/``; c = client bucket, h = host's;
"signed" = a statement signed by its author's identity key, ``fedring.keys.signed``):

=================  ======================================  =====================================
step               written by the client                   written by the host
=================  ======================================  =====================================
enrol              c public/keys/... (signed)              c inbox/<run>/0000/directory/keys.json
broadcast                                                  c inbox/.../global/model, model.sig
advertise          c private/.../advertise/secrets,        c inbox/.../advertise/advertisements
                   c outbox/.../advertise/advertisement
share              c private/.../shares/view,              c inbox/.../shares/bundle
                   c private/.../shares/made,
                   c outbox/.../shares/bundle
contribute         c private/.../contribute/held,
                   c private/.../contribute/masked,
                   c outbox/.../contribute/meta.json
ring-hop           c private/.../ring-hop/partial,         c inbox/.../ring-hop/from-<sender>,
                   c outbox/.../ring-hop/to-<recipient>    h runs/.../ring-hop/from-<sender>
consistency        c private/.../consistency/record,
                   c outbox/.../consistency/signature
reveal             c private/.../reveal/record,
                   c outbox/.../reveal/shares
unmask, aggregate                                          h runs/.../aggregate/model
commit                                                     h runs/.../model, model.sig, metrics.json,
                                                           h runs/<run>/manifest/<r>.json (last)
plain train        c outbox/.../update/model, meta.json    h runs/.../aggregate/model
every stage                                                h runs/.../records/<stage>/<name>.json
=================  ======================================  =====================================

In agent mode (``flows/agents.py``, ``flows/agent_service.py``) the host asks for each client
stage with a signed *stage request* in the client's inbox, and the client's agent answers with
a signed *stage status* in its outbox (``fedring.agent``)::

    c inbox/_requests/<run>/<round>/<name>      written by the host; consumed (deleted) by the
                                                agent once its status is written
    c outbox/_status/<run>/<round>/<name>       written by the agent: ok, dropout, refused, failed

``<name>`` is the stage (``contribute``), or ``ring-hop-to-<recipient>`` for a ring hop; enrol
is round 0. The leading underscore keeps these folders apart from run ids, which never hold one.
"""

from __future__ import annotations

import re
from enum import StrEnum

DATA_PREFIX = "data/"
PUBLIC_PREFIX = "public/"
OUTBOX = "outbox/"
INBOX = "inbox/"
PRIVATE = "private/"

PARTITION_IMAGES = "data/images.npy"
PARTITION_LABELS = "data/labels.npy"
PARTITION_MANIFEST = "data/manifest.json"
PUBLIC_KEYS_PREFIX = "public/keys/"

DATA_SPLITS = ("train", "eval")
TABLE_FORMATS = ("parquet", "csv")

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class Stage(StrEnum):
    """Stage names, used in object keys, envelope contexts and Prefect task names."""

    TRAIN = "train"
    ENROL = "enrol"
    ADVERTISE = "advertise"
    SHARES = "shares"
    CONTRIBUTE = "contribute"
    RING_HOP = "ring-hop"
    CONSISTENCY = "consistency"
    REVEAL = "reveal"
    UNMASK = "unmask"
    AGGREGATE = "aggregate"
    COMMIT = "commit"
    UPDATE = "update"


Round = int | str  # a training round's number, or a secure sub-sum's label ("0003-eval")
PURPOSES = ("", "eval", "stats")  # what a secure sum is for: training (""), evaluation, statistics


def round_label(rnd: int, purpose: str = "") -> Round:
    """How a secure sum is named in object keys and in every context it signs or seals.

    A training round keeps its number (``3``: keys ``.../0003/...``, contexts
    ``"round": 3``); a sub-sum without training gets ``"0003-eval"`` (federated evaluation
    of round 3's model) or ``"0000-stats"`` (federated statistics before round 1). Its
    objects and statements then live apart from the training round's and can never be
    taken for them: a statement of one purpose fails to verify in another. A label is
    never 8 bytes long, so no label reads as a packed round number (``fedring.secagg``).
    """
    if purpose not in PURPOSES:
        from fedring.errors import ConfigError

        raise ConfigError(f"purpose {purpose!r} is not one of {', '.join(repr(p) for p in PURPOSES)}")
    if not isinstance(rnd, int) or isinstance(rnd, bool) or rnd < 0:
        from fedring.errors import ConfigError

        raise ConfigError(f"round numbers are integers >= 0, got {rnd!r}")
    return rnd if not purpose else f"{rnd:04d}-{purpose}"


def _r(rnd: Round) -> str:
    """A round's folder in keys: ``0003`` for a training round, the label of a sub-sum."""
    return f"{rnd:04d}" if isinstance(rnd, int) else rnd

# The client stages a host may ask an account's agent to run, in the order of a round.
CLIENT_STAGES = ("enrol", "advertise", "share-keys", "contribute", "ring-hop", "consistency", "reveal")

GLOBAL = "global"  # the inbox folder of the broadcast global model
DIRECTORY = "directory"  # the inbox folder of the public-key directory
RECORDS = "records"  # the host's folder of stage records


def check_name(kind: str, value: str) -> str:
    """Account, run and model names go into keys and policies: lowercase, digits, dashes."""
    if not _NAME.match(value):
        from fedring.errors import ConfigError

        raise ConfigError(f"{kind} {value!r} must be 1-63 lowercase letters, digits or dashes")
    return value


def outbox(run: str, rnd: Round, stage: str, name: str) -> str:
    return f"{OUTBOX}{run}/{_r(rnd)}/{stage}/{name}"


def inbox(run: str, rnd: Round, stage: str, name: str) -> str:
    return f"{INBOX}{run}/{_r(rnd)}/{stage}/{name}"


def private(run: str, rnd: Round, stage: str, name: str) -> str:
    return f"{PRIVATE}{run}/{_r(rnd)}/{stage}/{name}"


def outbox_prefix(run: str, rnd: Round) -> str:
    """Everything an account put in its outbox for one round."""
    return f"{OUTBOX}{run}/{_r(rnd)}/"


def public_keys(version: int, digest: str) -> str:
    """Public key documents are versioned: issuing or rotating an attribute adds one."""
    return f"{PUBLIC_KEYS_PREFIX}{version:06d}-{digest[:16]}.json"


# -- the host's bucket --------------------------------------------------------------------


def run_prefix(run: str) -> str:
    return f"runs/{run}/"


def manifest(run: str, committed: int) -> str:
    return f"runs/{run}/manifest/{committed:04d}.json"


def manifest_prefix(run: str) -> str:
    return f"runs/{run}/manifest/"


def round_model(run: str, rnd: Round) -> str:
    return f"runs/{run}/rounds/{_r(rnd)}/model"


def round_model_statement(run: str, rnd: Round) -> str:
    """The host's signed digest of round ``rnd``'s global model (model consistency)."""
    return f"runs/{run}/rounds/{_r(rnd)}/model.sig"


def round_metrics(run: str, rnd: Round) -> str:
    return f"runs/{run}/rounds/{_r(rnd)}/metrics.json"


def lease(run: str, generation: int) -> str:
    """Generation ``generation`` of the run's lease; zero-padded so that listing sorts them."""
    return f"runs/{run}/lease/{generation:010d}.json"


def lease_prefix(run: str) -> str:
    return f"runs/{run}/lease/"


def host_stage(run: str, rnd: Round, stage: str, name: str) -> str:
    return f"runs/{run}/rounds/{_r(rnd)}/{stage}/{name}"


def stage_record(run: str, rnd: Round, stage: str, name: str) -> str:
    """How one client stage of one account ended, as the host recorded it."""
    return host_stage(run, rnd, RECORDS, f"{stage}/{name}.json")


def hop_record_name(account: str, to: str) -> str:
    """The record name of one ring-hop call: an account may seal to several recipients."""
    return f"{account}-to-{to}"



# -- the objects of a round, by step (see the table above) --------------------------------


def directory(run: str) -> str:
    """The signed public-key documents the host delivers to each client (enrol)."""
    return inbox(run, 0, DIRECTORY, "keys.json")


def accepted_directory(run: str) -> str:
    """The directory a client checked and accepted once, sealed to itself: used for the whole run."""
    return private(run, 0, DIRECTORY, "accepted")


def global_model_in(run: str, rnd: Round) -> str:
    """The global model of round ``rnd - 1``, broadcast into a client's inbox for round ``rnd``."""
    return inbox(run, rnd, GLOBAL, "model")


def global_model_statement_in(run: str, rnd: Round) -> str:
    """The host's signed digest of that model, broadcast beside it."""
    return inbox(run, rnd, GLOBAL, "model.sig")


def round_secrets(run: str, rnd: Round) -> str:
    """A client's round secrets (a_i, b_i), sealed to itself."""
    return private(run, rnd, Stage.ADVERTISE, "secrets")


def advertisement(run: str, rnd: Round) -> str:
    """A client's signed advertisement: round public key, self-mask commitment, model digest."""
    return outbox(run, rnd, Stage.ADVERTISE, "advertisement")


def advertisements_in(run: str, rnd: Round) -> str:
    """Every advertiser's signed advertisement, relayed by the host to each advertiser."""
    return inbox(run, rnd, Stage.ADVERTISE, "advertisements")


def accepted_view(run: str, rnd: Round) -> str:
    """The advertisements a client checked and accepted: the round's view it holds to."""
    return private(run, rnd, Stage.SHARES, "view")


def made_shares(run: str, rnd: Round) -> str:
    """All Shamir shares a client made of its secrets (its own among them), sealed to itself."""
    return private(run, rnd, Stage.SHARES, "made")


def shares_out(run: str, rnd: Round) -> str:
    """A client's shares, each sealed to its holder and signed, in one object for the host to split."""
    return outbox(run, rnd, Stage.SHARES, "bundle")


def shares_in(run: str, rnd: Round) -> str:
    """The shares a client holds of its neighbours' secrets, regrouped by the host."""
    return inbox(run, rnd, Stage.SHARES, "bundle")


def held_shares(run: str, rnd: Round) -> str:
    """The relayed shares a client checked and accepted (the inbox copy may change on S3)."""
    return private(run, rnd, Stage.CONTRIBUTE, "held")


def masked_vector(run: str, rnd: Round) -> str:
    """A client's contribution: its public metadata and masked vector y_i, sealed to itself."""
    return private(run, rnd, Stage.CONTRIBUTE, "masked")


def contribution_meta(run: str, rnd: Round) -> str:
    """The public metadata of a contribution (samples, seconds); marks contribute complete."""
    return outbox(run, rnd, Stage.CONTRIBUTE, "meta.json")


def partial_kept(run: str, rnd: Round) -> str:
    """The partial sum a hop computed, kept sealed so that a re-seal never adds twice."""
    return private(run, rnd, Stage.RING_HOP, "partial")


def partial_out(run: str, rnd: Round, to: str) -> str:
    """A hop's partial sum, sealed to ``to`` (the next hop or the host) and signed."""
    return outbox(run, rnd, Stage.RING_HOP, f"to-{to}")


def partial_out_prefix(run: str, rnd: Round) -> str:
    """Every recipient a hop sealed its partial sum to (its routing record)."""
    return outbox(run, rnd, Stage.RING_HOP, "to-")


def partial_in(run: str, rnd: Round, sender: str) -> str:
    """A partial sum relayed into the next hop's inbox."""
    return inbox(run, rnd, Stage.RING_HOP, f"from-{sender}")


def ring_sum(run: str, rnd: Round, sender: str) -> str:
    """A ring's final sum, relayed into the host's bucket."""
    return host_stage(run, rnd, Stage.RING_HOP, f"from-{sender}")


def consistency_record(run: str, rnd: Round) -> str:
    """The survivor set a client signed: it never signs another one for the round."""
    return private(run, rnd, Stage.CONSISTENCY, "record")


def consistency_signature(run: str, rnd: Round) -> str:
    """A client's signature over the survivor set (SecAgg's consistency check)."""
    return outbox(run, rnd, Stage.CONSISTENCY, "signature")


def reveal_record(run: str, rnd: Round) -> str:
    """What a client revealed, kept sealed so that a rerun never reveals anything else."""
    return private(run, rnd, Stage.REVEAL, "record")


def revealed_shares(run: str, rnd: Round) -> str:
    """A client's revealed shares, sealed to the host and signed."""
    return outbox(run, rnd, Stage.REVEAL, "shares")


def aggregate_model(run: str, rnd: Round) -> str:
    """The host's new global model before commit (sealed in the secure round)."""
    return host_stage(run, rnd, Stage.AGGREGATE, "model")


def plain_update(run: str, rnd: Round) -> str:
    """Plaintext baseline: a client's whole trained model, in its outbox."""
    return outbox(run, rnd, Stage.UPDATE, "model")


def plain_update_meta(run: str, rnd: Round) -> str:
    return outbox(run, rnd, Stage.UPDATE, "meta.json")


def plain_sums(run: str, rnd: Round) -> str:
    """Plaintext baseline: a client's evaluation or statistics sums, in the clear, in its outbox."""
    return outbox(run, rnd, Stage.UPDATE, "sums.json")


def sum_totals(run: str, rnd: Round) -> str:
    """The totals of a sub-sum (evaluation, statistics) as the host unmasked or added them, kept once."""
    return host_stage(run, rnd, Stage.UNMASK, "totals.json")


def data_description(run: str) -> str:
    """What a client says of its data when it enrols in a run: its sample count and model layout (public)."""
    return outbox(run, 0, Stage.ENROL, "data.json")


# -- stage requests and statuses (agent mode) ----------------------------------------------

REQUESTS_PREFIX = f"{INBOX}_requests/"
STATUS_PREFIX = f"{OUTBOX}_status/"
_REQUEST_KEY = re.compile(r"^inbox/_requests/([a-z0-9][a-z0-9-]{0,62})/(\d{4})/([a-z0-9][a-z0-9-]{0,80})$")


def request_name(stage: str, to: str | None = None, purpose: str = "") -> str:
    """The name of one stage request of a round: the stage, or ``ring-hop-to-<to>`` for a hop;
    a sum without training prefixes its purpose (``eval-advertise``, ``stats-ring-hop-to-b``)."""
    name = f"{stage}-to-{to}" if stage == "ring-hop" else stage
    return f"{purpose}-{name}" if purpose else name


def stage_request(run: str, rnd: int, name: str) -> str:
    """A stage request from the host, in a client's inbox."""
    return f"{REQUESTS_PREFIX}{run}/{rnd:04d}/{name}"


def stage_status(run: str, rnd: int, name: str) -> str:
    """A client agent's answer to the stage request ``name``, in its outbox."""
    return f"{STATUS_PREFIX}{run}/{rnd:04d}/{name}"


def parse_stage_request(key: str) -> tuple[str, int, str] | None:
    """(run, round, name) of a stage request key, or None if ``key`` is not one."""
    m = _REQUEST_KEY.match(key)
    return (m.group(1), int(m.group(2)), m.group(3)) if m else None


# -- the model registry, under registry/ in the host's bucket ------------------------------
#
#   registry/_publisher.json                          the publisher's Ed25519 verifying key
#   registry/<model>/<version:06d>/card.json          the model card (written last: the commit)
#   registry/<model>/<version:06d>/model/<g:06d>      the sealed weights, generation g
#   registry/<model>/<version:06d>/signature/<g:06d>  Ed25519 over SHA-256 of card and generation g
#
# A rewrap (revocation) writes generation g + 1 beside g: objects are immutable, so a new
# envelope needs a new key. The current envelope of a version is its highest generation.

REGISTRY = "registry/"
PUBLISHER = "registry/_publisher.json"

_VERSION_DIR = re.compile(r"^registry/([a-z0-9][a-z0-9-]*)/(\d{6})/")
_GENERATION = re.compile(r"/(model|signature)/(\d{6})$")


def registry_prefix(model: str) -> str:
    return f"{REGISTRY}{model}/"


def version_prefix(model: str, version: int) -> str:
    return f"{registry_prefix(model)}{version:06d}/"


def card(model: str, version: int) -> str:
    return f"{version_prefix(model, version)}card.json"


def envelope(model: str, version: int, generation: int) -> str:
    return f"{version_prefix(model, version)}model/{generation:06d}"


def signature(model: str, version: int, generation: int) -> str:
    return f"{version_prefix(model, version)}signature/{generation:06d}"


def parse_version_key(key: str) -> tuple[str, int] | None:
    """(model, version) of any key inside a version directory, else None."""
    m = _VERSION_DIR.match(key)
    return (m.group(1), int(m.group(2))) if m else None


def generations(keys: list[str], kind: str = "model") -> list[int]:
    """Generation numbers of ``kind`` objects ("model" or "signature") among ``keys``, sorted."""
    found = []
    for key in keys:
        m = _GENERATION.search(key)
        if m and m.group(1) == kind:
            found.append(int(m.group(2)))
    return sorted(found)


# -- an account's own data, under data/ (never read by the host) ---------------------------


def check_data_prefix(prefix: str) -> str:
    """An account's data prefix: ``data/`` or a folder under it, which the host's role never reads."""
    if not (prefix.startswith(DATA_PREFIX) and prefix.endswith("/")) or "//" in prefix or "/../" in f"/{prefix}":
        from fedring.errors import ConfigError

        raise ConfigError(f"data prefix {prefix!r} must be {DATA_PREFIX!r} or a folder under it ending in '/'")
    return prefix


def data_key(prefix: str, relative: str) -> str:
    """An owner's file ``relative`` (a path inside what it puts) under its data prefix."""
    return f"{check_data_prefix(prefix)}{relative}"


def data_table(prefix: str, split: str, fmt: str) -> str:
    return f"{prefix}{split}.{fmt}"


def data_split_folder(prefix: str, split: str) -> str:
    return f"{prefix}{split}/"


def data_array(prefix: str, split: str, name: str) -> str:
    return f"{prefix}{split}/{name}.npy"
