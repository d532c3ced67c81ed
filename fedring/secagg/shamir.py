"""t-of-n Shamir sharing of an account's round secrets, and the reveal rule.

Bonawitz et al. 2017 (https://eprint.iacr.org/2017/281, section 4, "ShareKeys"
and "Unmasking"): account i shares its self-mask seed b_i and its private key
a_i among its holders (its neighbours and itself, Bell et al. 2020). At
unmasking, every survivor reveals, for each owner, the b-share if the owner
survived and the a-share if it dropped, never both: with b_i and a_i the host
could strip every mask from y_i.

Shares are pycryptodome's Shamir shares over GF(2^128) (16-byte secrets): each
32-byte secret is split into two 16-byte halves shared with the same degree at
the same x. The x of a holder is its 1-based position in the sorted roster, so
every party computes it. ``Shamir.split`` only hands out x = 1..n and its field
arithmetic is slow (minutes at t = 51), so the polynomial is evaluated and
interpolated with ``gf128`` (same field, same encoding: the shares combine with
``Shamir.combine`` and vice versa; the tests check both), and the Lagrange
coefficients are computed once for the two halves. Coefficients come from
pycryptodome's CSPRNG (``get_random_bytes``), as in ``Shamir.split``.

Wire forms (plaintext; the caller seals them to their recipient). All names and
numbers are length-prefixed (``keys.context_bytes``)::

    ShareBundle   "FRSB" 01 | run | round | owner | holder | x:u16 | t:u16 | b_hi b_lo a_hi a_lo
    RevealedShare "FRSR" 01 | run | round | owner | holder | kind | x:u16 | t:u16 | hi lo

A bundle or revealed share from another run, round, owner or holder is refused
with IntegrityError (replayed or mis-routed).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from Crypto.Random import get_random_bytes

from fedring.errors import (
    ConfigError,
    IntegrityError,
    NotEnoughShares,
    ProtocolError,
    RevealRefused,
    TooFewSurvivors,
)
from fedring.secagg import gf128
from fedring.secagg.keys import RoundSecrets, context_bytes

__all__ = ["ShareBundle", "RevealedShare", "make_shares", "reveal", "reconstruct", "check_threshold", "share_index"]

_BUNDLE, _REVEALED = b"FRSB\x01", b"FRSR\x01"
SELF, KEY = "b", "a"  # kinds of share: self-mask seed b_i, private key a_i


def _parts(data: bytes, pos: int, count: int) -> tuple[list[bytes], int]:
    out = []
    for _ in range(count):
        if pos + 2 > len(data):
            raise IntegrityError("truncated share")
        (ln,) = struct.unpack_from(">H", data, pos)
        pos += 2
        if pos + ln > len(data):
            raise IntegrityError("truncated share")
        out.append(data[pos : pos + ln])
        pos += ln
    return out, pos


def _rnd(raw: bytes) -> int | str:
    """A round number (8 bytes, as ``context_bytes`` packs it) or a sub-sum's label (never 8 bytes)."""
    if len(raw) == 8:
        return struct.unpack(">Q", raw)[0]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise IntegrityError("malformed share") from None


@dataclass(frozen=True)
class ShareBundle:
    """What ``holder`` keeps of ``owner``'s secrets: its shares of b_owner and a_owner."""

    run: str
    rnd: int | str
    owner: str
    holder: str
    index: int
    threshold: int
    self_share: bytes = field(repr=False)  # 32 bytes: shares of the two halves of b_owner
    key_share: bytes = field(repr=False)  # 32 bytes: shares of the two halves of a_owner

    def to_bytes(self) -> bytes:
        head = context_bytes(self.run, self.rnd, self.owner, self.holder)
        return _BUNDLE + head + struct.pack(">HH", self.index, self.threshold) + self.self_share + self.key_share

    @classmethod
    def from_bytes(cls, data: bytes) -> "ShareBundle":
        if not data.startswith(_BUNDLE):
            raise IntegrityError("not a share bundle")
        (run, rnd, owner, holder), pos = _parts(data, len(_BUNDLE), 4)
        if len(data) != pos + 4 + 64:
            raise IntegrityError("malformed share bundle")
        index, threshold = struct.unpack_from(">HH", data, pos)
        body = data[pos + 4 :]
        return cls(run.decode(), _rnd(rnd), owner.decode(), holder.decode(), index, threshold, body[:32], body[32:])


@dataclass(frozen=True)
class RevealedShare:
    """One share ``holder`` reveals to the host: of b_owner (kind "b") or a_owner (kind "a")."""

    run: str
    rnd: int | str
    owner: str
    holder: str
    kind: str
    index: int
    threshold: int
    share: bytes = field(repr=False)  # 32 bytes: the shares of the two halves

    def to_bytes(self) -> bytes:
        head = context_bytes(self.run, self.rnd, self.owner, self.holder, self.kind)
        return _REVEALED + head + struct.pack(">HH", self.index, self.threshold) + self.share

    @classmethod
    def from_bytes(cls, data: bytes) -> "RevealedShare":
        if not data.startswith(_REVEALED):
            raise IntegrityError("not a revealed share")
        (run, rnd, owner, holder, kind), pos = _parts(data, len(_REVEALED), 5)
        if len(data) != pos + 4 + 32 or kind not in (b"a", b"b"):
            raise IntegrityError("malformed revealed share")
        index, threshold = struct.unpack_from(">HH", data, pos)
        share = data[pos + 4 :]
        return cls(run.decode(), _rnd(rnd), owner.decode(), holder.decode(), kind.decode(), index, threshold, share)


def share_index(roster: Sequence[str], name: str) -> int:
    """The Shamir x of ``name``: its 1-based position in the sorted roster."""
    try:
        return list(roster).index(name) + 1
    except ValueError:
        raise ConfigError(f"{name!r} is not in the roster") from None


def check_threshold(threshold: int, n_holders: int) -> None:
    """t must be a strict majority of the holders (so two disjoint groups cannot both
    reach t, e.g. one revealing b_i and the other a_i) and at most their number."""
    if not isinstance(threshold, int) or not (n_holders // 2 < threshold <= n_holders) or threshold < 2:
        raise ConfigError(
            f"threshold must be an integer with {n_holders} // 2 < threshold <= {n_holders} "
            f"(the number of holders) and >= 2, got {threshold!r}"
        )


def _split(secret: bytes, xs: list[int], threshold: int) -> list[bytes]:
    """Shares of a 16-byte secret at the given x: a random polynomial of degree t-1, p(0) = secret."""
    coeffs = [int.from_bytes(get_random_bytes(16), "big") for _ in range(threshold - 1)]
    coeffs.append(int.from_bytes(secret, "big"))
    return [gf128.evaluate(coeffs, x).to_bytes(16, "big") for x in xs]


def make_shares(
    secrets: RoundSecrets,
    *,
    me: str,
    holders: Sequence[str],
    threshold: int,
    run: str,
    rnd: int | str,
    roster: Sequence[str],
) -> dict[str, bytes]:
    """Split b_me and a_me t-of-len(holders); return one ShareBundle blob per holder.

    ``holders`` are the accounts that will keep a share (me's neighbours and me).
    """
    names = sorted(set(holders))
    if len(names) != len(list(holders)):
        raise ConfigError("holders must not repeat a name")
    check_threshold(threshold, len(names))
    xs = [share_index(roster, h) for h in names]
    share_index(roster, me)  # raises ConfigError unless me is in the roster
    b, a = secrets.self_seed, secrets.private_key
    b_hi, b_lo, a_hi, a_lo = (_split(half, xs, threshold) for half in (b[:16], b[16:], a[:16], a[16:]))
    return {
        h: ShareBundle(run, rnd, me, h, x, threshold, b_hi[k] + b_lo[k], a_hi[k] + a_lo[k]).to_bytes()
        for k, (h, x) in enumerate(zip(names, xs))
    }


def reveal(
    held: Mapping[str, bytes],
    *,
    me: str,
    survivors: Iterable[str],
    dropped: Iterable[str],
    run: str,
    rnd: int | str,
    previous: Mapping[str, bytes] | None = None,
) -> dict[str, bytes]:
    """Return owner -> RevealedShare blob: b-share of each surviving owner, a-share of each dropped one.

    ``held`` maps owner -> ShareBundle blob received in the share stage. ``previous`` is
    this account's earlier output of ``reveal`` for the same round, if any (store it):
    asking now for the other kind of share of an owner raises RevealRefused, as does
    an owner listed as both survivor and dropped. Fewer survivors than the threshold
    raise TooFewSurvivors: revealing then would not let the host finish anyway.
    """
    surv, drop = set(survivors), set(dropped)
    both = sorted(surv & drop)
    if both:
        raise RevealRefused(
            f"{me} refuses to reveal both shares of {', '.join(both)} (listed as survivor and dropped)"
        )
    if me in drop:
        raise ProtocolError(f"{me} is listed as dropped and cannot be asked to reveal")
    earlier = {}
    for owner, blob in (previous or {}).items():
        s = RevealedShare.from_bytes(blob)
        if (s.run, s.rnd, s.owner, s.holder) != (run, rnd, owner, me):
            raise IntegrityError(f"previous reveal for {owner} is from another run, round or holder")
        earlier[owner] = s.kind
    out: dict[str, bytes] = {}
    for owner, blob in sorted(held.items()):
        bundle = ShareBundle.from_bytes(blob)
        if (bundle.run, bundle.rnd, bundle.owner, bundle.holder) != (run, rnd, owner, me):
            raise IntegrityError(
                f"share held for {owner} was made for another run, round, owner or holder (replayed or mis-routed)"
            )
        if len(surv) < bundle.threshold:
            raise TooFewSurvivors(
                f"{len(surv)} survivors is below the threshold {bundle.threshold}; {me} reveals nothing"
            )
        kind = SELF if owner in surv else KEY if owner in drop else None
        if kind is None:
            continue
        if earlier.get(owner, kind) != kind:
            raise RevealRefused(
                f"{me} already revealed the {earlier[owner]}-share of {owner}; refusing the {kind}-share"
            )
        share = bundle.self_share if kind == SELF else bundle.key_share
        out[owner] = RevealedShare(run, rnd, owner, me, kind, bundle.index, bundle.threshold, share).to_bytes()
    return out


def reconstruct(
    shares: Mapping[str, bytes],
    *,
    owner: str,
    kind: str,
    threshold: int,
    run: str,
    rnd: int | str,
    roster: Sequence[str] | None = None,
) -> bytes:
    """Rebuild owner's 32-byte secret of ``kind`` ("b" or "a") from revealer -> RevealedShare blob.

    Raises IntegrityError for a share of another run, round, owner, kind or revealer, a
    repeated x, or (when ``roster`` is given) an x that is not the revealer's roster
    position; NotEnoughShares when fewer than ``threshold`` remain.
    """
    points: dict[int, bytes] = {}
    for revealer, blob in shares.items():
        s = RevealedShare.from_bytes(blob)
        if (s.run, s.rnd, s.owner, s.holder, s.kind) != (run, rnd, owner, revealer, kind):
            raise IntegrityError(
                f"revealed share from {revealer} for {owner} does not match run, round, owner, holder and kind"
            )
        wrong_x = roster is not None and s.index != share_index(roster, revealer)
        if s.threshold != threshold or s.index in points or wrong_x:
            raise IntegrityError(f"revealed share from {revealer} for {owner} has a wrong threshold or index")
        points[s.index] = s.share
    if len(points) < threshold:
        raise NotEnoughShares(f"{owner}: {len(points)} {kind}-share(s) revealed, {threshold} needed")
    use = sorted(points.items())[:threshold]
    coeffs = gf128.lagrange_at_zero([x for x, _ in use])
    hi = lo = 0
    for lj, (_, v) in zip(coeffs, use):
        hi ^= gf128.mul(int.from_bytes(v[:16], "big"), lj)
        lo ^= gf128.mul(int.from_bytes(v[16:], "big"), lj)
    return hi.to_bytes(16, "big") + lo.to_bytes(16, "big")
