"""Attribute policies: parse ``acme:self or (2 of (a:x, b:y, c:z))`` to a minimal DNF.

Grammar (keywords ``and``, ``or``, ``of`` are case-insensitive; ``and`` binds tighter)::

    policy    := disjunct ("or" disjunct)*
    disjunct  := factor ("and" factor)*
    factor    := ATTRIBUTE | "(" policy ")" | INT "of" "(" policy ("," policy)* ")"
    ATTRIBUTE := authority ":" name     authority [a-z0-9][a-z0-9-]*
                                        name      [a-z0-9][a-z0-9._-]*

The envelope needs a disjunction of clauses (each clause a set of attributes that
must all be held), because it splits the content key per clause. Threshold gates
and nested ``and`` over ``or`` multiply out, so the expansion is bounded: at most
``MAX_CLAUSES`` clauses after minimisation, and no intermediate product above
4,096 clauses is ever built, so a hostile policy cannot exhaust memory.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations

from fedring.errors import PolicySyntaxError, PolicyTooLarge

MAX_CLAUSES = 1024
"""Most clauses a policy may have in minimal disjunctive normal form (one key wrap per
attribute per clause, so this bounds header size and sealing cost: about 0.4 MB of key block
for 1,024 one-attribute clauses). A round's model is sealed to the host and every
participant, one clause each, so this is also the largest secure federation (1,023 accounts)."""

MAX_CLAUSE_ATTRIBUTES = 32
"""Most attributes in one clause."""

MAX_TEXT = 1 << 17
"""Longest policy text, in characters (1,024 clauses of one 63-character identity each fit)."""

_MAX_DEPTH = 32
_INTERMEDIATE = 4096
"""Most clauses a product (``and``, a threshold gate) may build before minimisation, which
compares clauses pairwise: a hostile policy costs at most this squared."""

ATTRIBUTE_RE = re.compile(r"[a-z0-9][a-z0-9-]*:[a-z0-9][a-z0-9._-]*")
_TOKEN = re.compile(
    r"\s*(?:(?P<attr>[A-Za-z0-9][A-Za-z0-9._-]*:[A-Za-z0-9._-]*)"
    r"|(?P<word>[A-Za-z0-9][A-Za-z0-9._-]*)|(?P<punct>[(),]))"
)

DNF = frozenset[frozenset[str]]


@dataclass(frozen=True)
class Policy:
    """A parsed policy: its text and its clauses in minimal DNF (no clause contains another).

    Clauses are ordered by size, then alphabetically, so the same policy always
    seals to the same clause order.
    """

    text: str
    clauses: tuple[frozenset[str], ...]

    @property
    def attributes(self) -> frozenset[str]:
        """Every attribute named by some clause."""
        return frozenset().union(*self.clauses)

    def satisfied_by(self, held: Iterable[str]) -> frozenset[str] | None:
        """The smallest clause whose attributes are all in ``held``, or None."""
        have = set(held)
        return next((c for c in self.clauses if c <= have), None)

    def missing(self, held: Iterable[str]) -> list[list[str]]:
        """Per clause, the sorted attributes ``held`` lacks (empty list: clause satisfied)."""
        have = set(held)
        return [sorted(c - have) for c in self.clauses]

    def __str__(self) -> str:
        return self.text


def parse(text: str) -> Policy:
    """Parse and normalise a policy; raise PolicySyntaxError (with position) or PolicyTooLarge."""
    if not isinstance(text, str):
        raise TypeError("policy text must be a str")
    if len(text) > MAX_TEXT:
        raise PolicyTooLarge(f"policy text is {len(text)} characters; the limit is {MAX_TEXT}")
    parser = _Parser(text)
    dnf = parser.policy(depth=0)
    parser.expect_end()
    clauses = tuple(sorted(dnf, key=lambda c: (len(c), sorted(c))))
    return Policy(text=text.strip(), clauses=clauses)


def canonical_text(clauses: Iterable[frozenset[str]]) -> str:
    """A policy text for given clauses: ``(a and b) or c``; parses back to the same clauses."""
    parts = []
    for clause in clauses:
        inner = " and ".join(sorted(clause))
        parts.append(f"({inner})" if len(clause) > 1 else inner)
    return " or ".join(parts)


class _Parser:
    """Recursive descent over regex tokens; every token remembers its offset for errors."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []  # (kind, value, position)
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                at = len(text) - len(text[pos:].lstrip())
                if at >= len(text):
                    break  # trailing whitespace
                self.fail(f"unexpected character {text[at]!r}", at)
            kind = m.lastgroup or ""
            start = m.start(kind)
            self.tokens.append((kind, m.group(kind), start))
            pos = m.end()
        self.i = 0

    def fail(self, message: str, position: int) -> None:
        raise PolicySyntaxError(message, text=self.text, position=position)

    def peek(self) -> tuple[str, str, int]:
        if self.i < len(self.tokens):
            return self.tokens[self.i]
        return ("end", "", len(self.text))

    def next(self) -> tuple[str, str, int]:
        tok = self.peek()
        self.i += 1
        return tok

    def keyword(self, word: str) -> bool:
        kind, value, _ = self.peek()
        if kind == "word" and value.lower() == word:
            self.i += 1
            return True
        return False

    def expect(self, punct: str, what: str) -> None:
        kind, value, pos = self.next()
        if (kind, value) != ("punct", punct):
            self.fail(f"expected {what}, found {_describe(kind, value)}", pos)

    def expect_end(self) -> None:
        kind, value, pos = self.peek()
        if kind != "end":
            self.fail(f"expected 'and', 'or' or end of policy, found {_describe(kind, value)}", pos)

    def policy(self, depth: int) -> DNF:
        if depth > _MAX_DEPTH:
            self.fail(f"policy nested deeper than {_MAX_DEPTH} levels", self.peek()[2])
        result = self.disjunct(depth)
        while self.keyword("or"):
            result |= self.disjunct(depth)
            if len(result) > _INTERMEDIATE:  # minimised in batches: a long "or" is not rescanned per term
                result = _minimal(result)
                self.check_size(result)
        result = _minimal(result)
        self.check_size(result)
        return result

    def disjunct(self, depth: int) -> DNF:
        start = self.peek()[2]
        result = self.factor(depth)
        while self.keyword("and"):
            result = self.conjoin(result, self.factor(depth), start)
        return result

    def factor(self, depth: int) -> DNF:
        kind, value, pos = self.next()
        if kind == "attr":
            if not ATTRIBUTE_RE.fullmatch(value):
                self.fail(
                    f"bad attribute {value!r}: use authority:name in lowercase letters, digits,"
                    " dashes (name may also use dots and underscores)",
                    pos,
                )
            return frozenset({frozenset({value})})
        if (kind, value) == ("punct", "("):
            inner = self.policy(depth + 1)
            self.expect(")", "')'")
            return inner
        if kind == "word" and value.isdigit():
            return self.threshold(int(value), pos, depth)
        if kind == "word" and value.lower() in ("and", "or", "of"):
            self.fail(f"expected an attribute or '(', found keyword {value!r}", pos)
        if kind == "word":
            self.fail(f"bad attribute {value!r}: expected authority:name", pos)
        self.fail(f"expected an attribute, '(' or 'k of (...)', found {_describe(kind, value)}", pos)
        raise AssertionError  # unreachable: fail() raises

    def threshold(self, k: int, pos: int, depth: int) -> DNF:
        if not self.keyword("of"):
            kind, value, at = self.peek()
            self.fail(f"expected 'of' after threshold {k}, found {_describe(kind, value)}", at)
        self.expect("(", "'(' after 'of'")
        options = [self.policy(depth + 1)]
        while self.peek()[:2] == ("punct", ","):
            self.i += 1
            options.append(self.policy(depth + 1))
        self.expect(")", "',' or ')'")
        n = len(options)
        if not 1 <= k <= n:
            self.fail(f"threshold {k} of {n}: k must be between 1 and {n}", pos)
        if math.comb(n, k) > _INTERMEDIATE:
            raise PolicyTooLarge(
                f"threshold {k} of {n} at position {pos} has {math.comb(n, k)} combinations;"
                f" the normal form is limited to {MAX_CLAUSES} clauses"
            )
        result: DNF = frozenset()
        for chosen in combinations(options, k):
            term: DNF = frozenset({frozenset()})
            for option in chosen:
                term = self.conjoin(term, option, pos)
            result = _minimal(result | term)
            self.check_size(result, pos)
        return result

    def conjoin(self, left: DNF, right: DNF, pos: int) -> DNF:
        if len(left) * len(right) > _INTERMEDIATE:
            self.too_large(len(left) * len(right), pos)
        result = _minimal(frozenset(a | b for a in left for b in right))
        self.check_size(result, pos)
        return result

    def check_size(self, dnf: DNF, pos: int | None = None) -> None:
        if len(dnf) > MAX_CLAUSES:
            self.too_large(len(dnf), self.peek()[2] if pos is None else pos)
        for clause in dnf:
            if len(clause) > MAX_CLAUSE_ATTRIBUTES:
                raise PolicyTooLarge(
                    f"a clause of the policy needs {len(clause)} attributes at once;"
                    f" the limit is {MAX_CLAUSE_ATTRIBUTES}"
                )

    def too_large(self, count: int, pos: int) -> None:
        raise PolicyTooLarge(
            f"policy expands to at least {count} clauses (near position {pos}); the limit is"
            f" {MAX_CLAUSES}: simplify the policy or split the audience"
        )


def _minimal(dnf: DNF) -> DNF:
    """Drop every clause that is a strict superset of another (it adds no one).

    Smallest clauses first; a clause is kept unless a kept clause is a subset of it. Kept
    clauses are indexed by their least attribute, and such a subset's least attribute is one
    of the clause's own, so each check reads only those entries: a disjunction of n single
    attributes (a round's model policy) costs O(n), not O(n²).
    """
    if frozenset() in dnf:
        return frozenset({frozenset()})
    kept: dict[str, list[frozenset[str]]] = {}
    for clause in sorted(dnf, key=len):
        if not any(k <= clause for a in clause for k in kept.get(a, ())):
            kept.setdefault(min(clause), []).append(clause)
    return frozenset(c for group in kept.values() for c in group)


def _describe(kind: str, value: str) -> str:
    return "end of policy" if kind == "end" else repr(value)
