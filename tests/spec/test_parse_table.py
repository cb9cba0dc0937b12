"""The DSL parser's prebuilt tables (spec/dslc.lark.json): current, used, and parsing as the grammar does."""

from __future__ import annotations

from pathlib import Path

import lark
import pytest

from dslc.spec import parse_table
from dslc.spec.dsl_frontend import _KeepNewlines, _parser, build_parser
from dslc.spec.errors import DslcError, DslcErrors
from dslc.spec.limits import DEFAULT_LIMITS
from dslc.spec.load import load_text

ROOT = Path(__file__).resolve().parents[2]
TABLES = ROOT / "spec" / parse_table.TABLES
REGENERATE = "stale: regenerate it with `python -m dslc.spec.parse_table` and commit it"
# Text that reaches every part of the grammar, and broken text for each kind of syntax error.
SAMPLES = [path.read_text() for path in sorted((ROOT / "examples").glob("*.dsl"))] + [
    "dslc 1\nmodel m(x: [4]) { dense(2) -> relu }\n",
    "dslc 1\nmodel m(x: [4]) {\n  a: dense(2\n  b: relu\n}\n",
    "dslc 1\nmodel m(x: [4] {\n}\n",
    "dslc 1\nmodel m(x: [4]) { dense(2)) }\n",
    "dslc 1\nmodel m(x: [4]) { dense(2] }\n",
    "dslc 1\nmodel m(x: [4]) { dense(units=2, 3) }\ntrain { loss = mse; optimizer = adam(1e-3) }\n",
    "dslc 1\nmodel m(x: [4]) { dense(\"a\\q\") }\n",
    "dslc 1\nmodel m(x: [4]) { @ }\n",
    "dslc 1\nmodel m(x: [4]) -> { dense(2) }\n",
    "dslc 1\ntrain { loss = }\n",
    "dslc 1\nblock b(n=3) { dense($n) * 2 }\nmodel m(x: int32[4], y: [2, 2]) -> b1 { b1: b(2) }\n",
    "model",
    "",
]


def test_the_tables_are_current() -> None:
    envelope = parse_table.load_envelope(TABLES.read_text(encoding="utf-8"))
    assert envelope["grammar_sha256"] == parse_table.grammar_digest(parse_table.grammar_text()), \
        f"spec/dslc.lark changed since {TABLES.name} was built: {REGENERATE}"
    built_with, installed = _version(envelope["lark"]), _version(lark.__version__)
    assert envelope["format"] == parse_table.FORMAT
    # Another lark (.ci/lowest-versions' older one, or a release newer than the tables) makes the front end build
    # the parser from the grammar: slower, never wrong. A fresh machine must not fail for a lark release, so this
    # is a skip that says what to do, not a failure.
    if installed != built_with:
        pytest.skip(f"lark {lark.__version__} is installed, the tables were built with {envelope['lark']}: "
                    f"{REGENERATE}")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3] if part.isdigit())


def test_the_tables_hold_the_grammar_s_rules_and_terminals(built: lark.Lark) -> None:
    """The state numbering of an LALR build varies between processes (lark iterates sets); the rules, the
    terminals and the number of states do not."""
    loaded = parse_table.prebuilt(parse_table.grammar_text(), _KeepNewlines())
    if loaded is None:
        pytest.skip("the tables were built with another lark (test_the_tables_are_current says which)")
    assert sorted(map(str, loaded.rules)) == sorted(map(str, built.rules))
    assert sorted((t.name, t.pattern.to_regexp(), t.priority) for t in loaded.terminals) == \
        sorted((t.name, t.pattern.to_regexp(), t.priority) for t in built.terminals)

    def states(parser: lark.Lark) -> int:
        return len(parser.parser.parser.parser.parse_table.states)

    assert states(loaded) == states(built)


def test_the_front_end_uses_the_tables() -> None:
    if parse_table.load_envelope(TABLES.read_text(encoding="utf-8"))["lark"] != lark.__version__:
        pytest.skip("the tables were built with another lark (test_the_tables_are_current says which)")
    assert _parser().source_path == "<deserialized>"


def test_tables_for_another_grammar_or_lark_are_not_used() -> None:
    assert parse_table.prebuilt(parse_table.grammar_text() + "\n// edited\n", _KeepNewlines()) is None


def _outcome(parser: lark.Lark, text: str) -> object:
    """The tree of `text` (as plain data), or its errors' codes, messages and positions."""
    from dslc.spec import dsl_frontend

    saved = dsl_frontend._parser
    dsl_frontend._parser = lambda strict=False: parser  # type: ignore[assignment]
    try:
        return repr(load_text(text, "dsl", "t.dsl", DEFAULT_LIMITS).spec)
    except DslcErrors as errors:
        return [(e.code, e.message, e.span, e.hint, e.related) for e in errors.errors]
    except DslcError as error:
        return [(error.code, error.message, error.span, error.hint, error.related)]
    finally:
        dsl_frontend._parser = saved


@pytest.fixture(scope="module")
def built() -> lark.Lark:
    return build_parser(parse_table.grammar_text())


@pytest.mark.parametrize("text", SAMPLES)
def test_the_prebuilt_parser_parses_as_the_grammar_does(built: lark.Lark, text: str) -> None:
    assert _outcome(_parser(), text) == _outcome(built, text)
