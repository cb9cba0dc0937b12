"""The YAML front end: positions, scalar resolution, and the hostile-input guards of the event pass."""

from __future__ import annotations

import pytest

from dslc.spec.errors import DslcError, DslcErrors
from dslc.spec.limits import DEFAULT_LIMITS, Limits
from dslc.spec.source import Source, decode_source
from dslc.spec.tree import Map, Scalar, Seq
from dslc.spec.yaml_frontend import parse_yaml


def parse(text: str, limits: Limits = DEFAULT_LIMITS) -> Map:
    return parse_yaml(Source("t.yaml", text), limits)


def codes_and_positions(text: str, limits: Limits = DEFAULT_LIMITS) -> list[tuple[str, int, int]]:
    with pytest.raises((DslcError, DslcErrors)) as info:
        parse(text, limits)
    errors = info.value.errors if isinstance(info.value, DslcErrors) else [info.value]
    return [(e.code, e.span.line, e.span.col) for e in errors]


def test_positions_of_keys_and_values_are_one_based() -> None:
    doc = parse("a:\n  b: [1, 2]\n")
    entry = doc.get("a")
    assert (entry.key_span.line, entry.key_span.col) == (1, 1)
    inner = entry.value.get("b")
    assert (inner.key_span.line, inner.key_span.col) == (2, 3)
    assert isinstance(inner.value, Seq)
    assert (inner.value.items[1].span.line, inner.value.items[1].span.col) == (2, 10)


@pytest.mark.parametrize(("text", "value"), [
    ("1e-3", 1e-3), ("-2.5E+2", -250.0), (".5", 0.5), ("12", 12), ("1_000", 1000), ("0x1f", 31), ("08", 8),
    ("true", True), ("False", False), ("null", None), ("~", None), ("", None),
    ("no", "no"), ("yes", "yes"), ("on", "on"), ("same", "same"), ("'1e-3'", "1e-3"), ('"true"', "true"),
])
def test_scalars_follow_the_core_schema_with_exponent_floats(text: str, value: object) -> None:
    scalar = parse(f"k: {text}\n").get("k").value
    assert isinstance(scalar, Scalar)
    assert scalar.value == value and type(scalar.value) is type(value)


def test_quoted_scalars_are_never_references() -> None:
    doc = parse("a: $x\nb: '$x'\n")
    assert doc.get("a").value.ref == "x"
    assert doc.get("b").value.ref is None


def test_special_floats_are_numbers_for_the_validator_to_reject() -> None:
    assert parse("k: .nan\n").get("k").value.value != parse("k: .nan\n").get("k").value.value
    assert parse("k: -.inf\n").get("k").value.value == float("-inf")


def test_duplicate_keys_are_reported_with_both_positions() -> None:
    with pytest.raises(DslcErrors) as info:
        parse("a: 1\nb: 2\na: 3\n")
    [error] = info.value.errors
    assert (error.code, error.span.line, error.span.col) == ("E012", 3, 1)
    assert error.related[0][1].line == 1


def test_tags_never_construct_anything(tmp_path) -> None:
    canary = tmp_path / "canary"
    text = f"a: !!python/object/apply:os.system ['touch {canary}']\n"
    assert codes_and_positions(text) == [("E011", 1, 4)]
    assert not canary.exists()


def test_nesting_depth_is_capped_before_recursion() -> None:
    deep = "a: " + "[" * 100_000 + "]" * 100_000 + "\n"
    assert codes_and_positions(deep, Limits(max_depth=64))[0][0] == "E005"


@pytest.mark.parametrize("opener", ["[", "{a: "])
@pytest.mark.parametrize("levels", [999, 1_000, 5_000])
@pytest.mark.parametrize("budget", [64, 128])
def test_the_depth_budget_wins_over_the_yaml_librarys_own_limit(opener: str, levels: int, budget: int) -> None:
    """libyaml (PyYAML 6.0.4's C parser) refuses flow nesting of 1,000 levels while scanning ahead, before the
    event pass sees one level; dslc's budget answers the same E005 at the same place whichever PyYAML is installed."""
    closer = "]" if opener == "[" else "1}"
    text = "a: " + opener * levels + closer * levels + "\n"
    # the root mapping is level 1: the first opener too deep is the budget's, 0-based
    assert codes_and_positions(text, Limits(max_depth=budget)) == [("E005", 1, 4 + len(opener) * (budget - 1))]


def test_a_depth_limit_of_every_yaml_parser_is_still_e005(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should the pure-Python parser grow a nesting limit too, it is reported as the depth error, located."""
    import yaml

    def refuse(text, Loader):  # noqa: N803 - PyYAML's own keyword
        yield yaml.StreamStartEvent()
        mark = yaml.Mark("t.yaml", 9, 0, 9, text, 9)
        raise yaml.scanner.ScannerError("while increasing flow level", mark, "exceeded maximum nesting depth", mark)

    monkeypatch.setattr(yaml, "parse", refuse)
    assert codes_and_positions("a: [[[[[[[[[[]]]]]]]]]]\n") == [("E005", 1, 10)]


def test_the_depth_budget_has_a_ceiling() -> None:
    """Later stages recurse per level: past the ceiling a raised budget would crash them instead of guarding."""
    from dslc.spec.limits import DEPTH_CEILING

    assert Limits(max_depth=DEPTH_CEILING).max_depth == DEPTH_CEILING
    with pytest.raises(ValueError, match="max_depth"):
        Limits(max_depth=DEPTH_CEILING + 1)


def test_the_item_budget_counts_every_node_keys_included() -> None:
    text = "a: [1, 2]\nb: {c: 3}\n"  # the root mapping, a, the list, 1, 2, b, the mapping, c, 3: 9 nodes
    assert parse(text, Limits(max_items=9)).get("b").value.get("c").value.value == 3
    with pytest.raises(DslcError) as info:
        parse(text, Limits(max_items=8))
    assert (info.value.code, info.value.span.line, info.value.span.col) == ("E017", 2, 8)
    assert info.value.message == "YAML node count 9 exceeds the budget of 8 (raise it with --max-items)"


def test_the_item_budget_stops_the_event_pass_early() -> None:
    """190,000 layers in one flow list, or 150,000 duplicate keys: rejected at the budget, not collected."""
    flow = "layers: [" + ",".join(["relu"] * 190_000) + "]\n"
    assert codes_and_positions(flow) == [("E017", 1, 10 + 5 * (DEFAULT_LIMITS.max_items - 3))]  # root, key, list
    duplicates = "k: 1\n" * 150_000
    assert codes_and_positions(duplicates) == [("E017", DEFAULT_LIMITS.max_items // 2, 4)]


def test_alias_count_is_capped() -> None:
    text = "a: &x [1]\n" + "".join(f"b{i}: *x\n" for i in range(5))
    assert codes_and_positions(text, Limits(max_aliases=3)) == [("E006", 5, 5)]
    assert parse(text, Limits(max_aliases=5)).get("b4").value.items[0].value == 1


def test_alias_to_an_enclosing_anchor_is_an_error() -> None:
    assert codes_and_positions("a: &x [1, *x]\n") == [("E015", 1, 11)]


@pytest.mark.parametrize(("text", "expected"), [
    ("a: 1\n---\nb: 2\n", ("E013", 2, 1)),
    ("", ("E014", 1, 1)),
    ("# only a comment\n", ("E014", 1, 1)),
    ("- a\n- b\n", ("E103", 1, 1)),
    ("a: [1\n", ("E010", 2, 1)),
    ("a:\n  <<: {b: 1}\n", ("E015", 2, 3)),
    ("k: " + "9" * 100 + "\n", ("E205", 1, 4)),
])
def test_structural_errors(text: str, expected: tuple[str, int, int]) -> None:
    assert codes_and_positions(text)[0] == expected


def test_invalid_utf8_and_nul_bytes_are_located() -> None:
    with pytest.raises(DslcError) as info:
        decode_source(b"a: 1\nb: \xff\n", "t.yaml")
    assert (info.value.code, info.value.span.line, info.value.span.col) == ("E003", 2, 4)
    with pytest.raises(DslcError) as info:
        decode_source(b"a: 1\0\n", "t.yaml")
    assert (info.value.code, info.value.span.line, info.value.span.col) == ("E003", 1, 5)


def test_lone_surrogate_escapes_are_rejected_by_either_parser() -> None:
    import yaml

    from dslc.spec import yaml_frontend

    text = 'k: "\\ud800"\n'
    assert codes_and_positions(text)[0][0] in ("E010", "E205")  # libyaml rejects it itself
    pure = yaml_frontend._Loader
    try:
        yaml_frontend._Loader = yaml.SafeLoader
        assert codes_and_positions(text) == [("E205", 1, 4)]
    finally:
        yaml_frontend._Loader = pure
