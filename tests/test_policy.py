"""Policy parsing: normal form, threshold gates, the expansion bound, errors with positions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedring.errors import PolicySyntaxError, PolicyTooLarge
from fedring.policy import MAX_CLAUSES, MAX_TEXT, canonical_text, parse

UNIVERSE = ["acme:self", "acme:eval", "beta:self", "beta:gpu.a100", "gamma-3:x_y"]


def clauses(*groups: str) -> tuple[frozenset[str], ...]:
    return tuple(frozenset(g.split()) for g in groups)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("acme:self", clauses("acme:self")),
        ("acme:self and beta:self", clauses("acme:self beta:self")),
        ("acme:self AND (beta:self Or c:x)", clauses("acme:self beta:self", "acme:self c:x")),
        ("a:x or a:x and b:y", clauses("a:x")),  # absorbed: a superset clause adds no one
        ("2 of (a:x, b:y, c:z)", clauses("a:x b:y", "a:x c:z", "b:y c:z")),
        ("1 OF (a:x, b:y and c:z)", clauses("a:x", "b:y c:z")),
        ("3 of (a:x, b:y, c:z)", clauses("a:x b:y c:z")),
        ("  ((a:x))  ", clauses("a:x")),
        ("2 of (a:x or b:y, c:z, d:w)", clauses("a:x c:z", "b:y c:z", "a:x d:w", "b:y d:w", "c:z d:w")),
    ],
)
def test_normal_form(text: str, expected: tuple[frozenset[str], ...]) -> None:
    # Execute
    policy = parse(text)

    # Assert
    assert set(policy.clauses) == set(expected)
    assert len(policy.clauses) == len(expected)
    assert policy.text == text.strip()


def test_clause_order_is_deterministic_and_attributes_listed() -> None:
    policy = parse("b:y and c:z or a:x")

    assert policy.clauses == (frozenset({"a:x"}), frozenset({"b:y", "c:z"}))
    assert policy.attributes == {"a:x", "b:y", "c:z"}


def test_satisfied_by_and_missing() -> None:
    policy = parse("(a:x and b:y) or c:z")

    assert policy.satisfied_by(["a:x", "b:y"]) == {"a:x", "b:y"}
    assert policy.satisfied_by(["c:z", "a:x"]) == {"c:z"}
    assert policy.satisfied_by(["a:x"]) is None
    assert policy.missing(["a:x"]) == [["c:z"], ["b:y"]]


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("a:x and", 7, "found end of policy"),
        ("a:x & b:y", 4, "unexpected character '&'"),
        ("(a:x or b:y", 11, "expected ')'"),
        ("a:x b:y", 4, "expected 'and', 'or' or end of policy, found 'b:y'"),
        ("Acme:x", 0, "bad attribute 'Acme:x'"),
        ("acme:", 0, "bad attribute 'acme:'"),
        ("acme", 0, "bad attribute 'acme'"),
        ("", 0, "found end of policy"),
        ("a:x or or b:y", 7, "found keyword 'or'"),
        ("4 of (a:x, b:y)", 0, "threshold 4 of 2"),
        ("0 of (a:x)", 0, "threshold 0 of 1"),
        ("2 of a:x", 5, "expected '(' after 'of'"),
        ("2 (a:x, b:y)", 2, "expected 'of' after threshold 2"),
        ("2 of (a:x b:y)", 10, "expected ',' or ')'"),
    ],
)
def test_syntax_errors_give_the_position(text: str, position: int, fragment: str) -> None:
    with pytest.raises(PolicySyntaxError) as info:
        parse(text)

    assert info.value.position == position
    assert fragment in str(info.value)
    assert f"at position {position}" in str(info.value)


def test_expansion_bound_is_refused() -> None:
    # Prepare: 11 independent ors multiply out to 2**11 = 2,048 > MAX_CLAUSES clauses
    text = " and ".join(f"(a:x{i} or b:y{i})" for i in range(11))

    with pytest.raises(PolicyTooLarge, match=f"the limit is {MAX_CLAUSES}"):
        parse(text)


def test_just_under_the_bound_is_accepted() -> None:
    text = " and ".join(f"(a:x{i} or b:y{i})" for i in range(10))  # 1,024 clauses

    assert len(parse(text).clauses) == MAX_CLAUSES


def test_large_threshold_is_refused_before_it_is_expanded() -> None:
    attrs = ", ".join(f"a:x{i}" for i in range(40))

    with pytest.raises(PolicyTooLarge, match="combinations"):
        parse(f"20 of ({attrs})")


def test_overlong_and_deep_policies_are_refused() -> None:
    with pytest.raises(PolicyTooLarge, match=f"the limit is {MAX_TEXT}"):
        parse("a:x or " * (MAX_TEXT // 7 + 1) + "a:x")
    with pytest.raises(PolicySyntaxError, match="nested deeper"):
        parse("(" * 40 + "a:x" + ")" * 40)


# --- properties: parse agrees with a direct evaluation of the policy tree -----------------

def trees() -> st.SearchStrategy:
    leaf = st.sampled_from(UNIVERSE)

    def extend(children: st.SearchStrategy) -> st.SearchStrategy:
        lists = st.lists(children, min_size=1, max_size=3)
        return st.one_of(
            st.tuples(st.just("and"), lists),
            st.tuples(st.just("or"), lists),
            lists.flatmap(lambda xs: st.tuples(st.integers(1, len(xs)), st.just(xs))),
        )

    return st.recursive(leaf, extend, max_leaves=8)


def render(tree) -> str:  # type: ignore[no-untyped-def]
    if isinstance(tree, str):
        return tree
    op, kids = tree
    if op in ("and", "or"):
        return "(" + f" {op} ".join(render(k) for k in kids) + ")"
    return f"{op} of (" + ", ".join(render(k) for k in kids) + ")"


def holds(tree, held: set[str]) -> bool:  # type: ignore[no-untyped-def]
    if isinstance(tree, str):
        return tree in held
    op, kids = tree
    results = [holds(k, held) for k in kids]
    if op == "and":
        return all(results)
    if op == "or":
        return any(results)
    return sum(results) >= op


@settings(max_examples=300, deadline=None)
@given(tree=trees(), held=st.sets(st.sampled_from(UNIVERSE)))
def test_satisfaction_matches_the_tree(tree, held: set[str]) -> None:  # type: ignore[no-untyped-def]
    policy = parse(render(tree))

    assert (policy.satisfied_by(held) is not None) == holds(tree, held)
    assert all(not a < b for a in policy.clauses for b in policy.clauses)  # minimal


@settings(max_examples=100, deadline=None)
@given(tree=trees())
def test_canonical_text_round_trips(tree) -> None:  # type: ignore[no-untyped-def]
    policy = parse(render(tree))

    assert parse(canonical_text(policy.clauses)).clauses == policy.clauses
