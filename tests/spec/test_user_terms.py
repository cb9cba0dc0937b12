"""Errors in the user's terms, and output that cannot lie.

Each spec under tests/fixtures/user_terms is checked by `dslc check` in its own folder, and the whole output
(headline, excerpt with carets, hint, notes, summary, exit code) must equal the `.out` file next to it: an
unclosed bracket reported where it was opened, YAML indentation mistakes named as such, closed vocabularies listing
their names, a loss hint that fits real-valued targets, a Cyrillic letter that never prints as a Latin one, and
bidirectional controls (E018) and odd line breaks (E019) rejected in both syntaxes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dslc.spec.errors import DslcErrors, closed_set_hint, did_you_mean, printable, reset_hint_budget
from dslc.spec.load import load_text

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "user_terms"
SPECS = sorted([*FIXTURES.glob("*.yaml"), *FIXTURES.glob("*.dsl")])
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
VALID_YAML = "dslc: 1\nmodel:\n  name: m\n  inputs: {x: [4]}\n  layers: [relu]\n"
VALID_DSL = "dslc 1\nmodel m(x: [4]) {\n  relu\n}\n"


@pytest.mark.parametrize("spec", SPECS, ids=[path.name for path in SPECS])
def test_dslc_check_prints_the_expected_report(spec: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "dslc", "check", spec.name], cwd=FIXTURES, capture_output=True,
                          text=True, timeout=60, check=False)
    expected = (FIXTURES / f"{spec.name}.out").read_text(encoding="utf-8")
    assert done.stdout + done.stderr + f"exit {done.returncode}\n" == expected


def errors_of(text: str, syntax: str) -> list[tuple[str, int, int]]:
    with pytest.raises(DslcErrors) as info:
        load_text(text, syntax)  # type: ignore[arg-type]
    return [(e.code, e.span.line, e.span.col) for e in info.value.errors if e.span]


# -- E018, E019: the text itself ------------------------------------------------------------------------------------
@pytest.mark.parametrize("char", BIDI_CONTROLS, ids=[f"U+{ord(c):04X}" for c in BIDI_CONTROLS])
@pytest.mark.parametrize(("syntax", "text"), [("yaml", VALID_YAML), ("dsl", VALID_DSL)])
def test_every_bidi_control_is_rejected_even_in_a_comment(char: str, syntax: str, text: str) -> None:
    assert errors_of(text + f"# {char}\n", syntax) == [("E018", 6 if syntax == "yaml" else 5, 3)]


@pytest.mark.parametrize("char", ["\r", "\x85", "\u2028", "\u2029"])
@pytest.mark.parametrize(("syntax", "text"), [("yaml", VALID_YAML), ("dsl", VALID_DSL)])
def test_a_line_break_yaml_alone_counts_is_rejected(char: str, syntax: str, text: str) -> None:
    assert errors_of(text.replace("\n", f" {char}#\n", 1), syntax) == [("E019", 1, 9 if syntax == "yaml" else 8)]


@pytest.mark.parametrize(("syntax", "text"), [("yaml", VALID_YAML), ("dsl", VALID_DSL)])
def test_crlf_line_endings_are_accepted(syntax: str, text: str) -> None:
    assert load_text(text.replace("\n", "\r\n"), syntax).spec.model.name == "m"


def test_escapes_in_strings_still_give_those_characters() -> None:
    """Written as escapes, the characters E018 and E019 reject raw are fine in a quoted string."""
    yaml = VALID_YAML + 'train:\n  loss: mse\n  optimizer: {adam: {lr: 0.1}}\n  batch: 2\n  steps: 1\n' \
        '  data: {npz: {path: a.npz, x: "\\u202e\\u2028"}}\n'
    assert load_text(yaml, "yaml").spec.train.data.x == "\u202e\u2028"  # type: ignore[union-attr]
    dsl = VALID_DSL + 'train {\n  loss = mse; optimizer = adam(0.1); batch = 2; steps = 1\n' \
                      '  data = npz("a.npz", x="\\u202e\\u2028")\n}\n'
    assert load_text(dsl, "dsl").spec.train.data.x == "\u202e\u2028"  # type: ignore[union-attr]


# -- unclosed DSL brackets ------------------------------------------------------------------------------------------
def test_an_error_inside_an_open_bracket_is_not_blamed_on_the_bracket() -> None:
    """A missing comma on a continuation line that is indented deeper than the bracket's line: the plain error."""
    text = "dslc 1\nmodel m(x: [4]) {\n  dense(\n    3\n    name=a)\n}\n"
    with pytest.raises(DslcErrors) as info:
        load_text(text, "dsl")
    error = info.value.errors[0]
    assert (error.code, error.span.line, error.span.col) == ("E020", 5, 5)
    assert error.message.startswith("unexpected name 'name'")


def test_the_innermost_open_bracket_is_reported_at_the_end_of_the_file() -> None:
    assert errors_of("dslc 1\nmodel m(x: [4]) {\n  dense(3, units=[1, 2\n", "dsl") == [("E020", 3, 18)]


def test_a_closer_of_the_wrong_kind_names_the_bracket_it_meets() -> None:
    with pytest.raises(DslcErrors) as info:
        load_text("dslc 1\nmodel m(x: [4]) {\n  reshape([3, 4)\n}\n", "dsl")
    error = info.value.errors[0]
    assert (error.code, error.span.line, error.span.col, error.message) == ("E020", 3, 16, "')' does not close '['")
    assert [(note, span.line, span.col) for note, span in error.related] == [("'[' is opened here", 3, 11)]


# -- YAML indentation ------------------------------------------------------------------------------------------------
def test_a_nested_list_under_an_item_is_no_misaligned_item() -> None:
    text = "dslc: 1\nmodel:\n  layers:\n    - dense:\n        - x: {y\n"
    with pytest.raises(DslcErrors) as info:
        load_text(text, "yaml")
    assert "indented" not in info.value.errors[0].message


def test_a_list_item_indented_less_than_the_one_before_it() -> None:
    text = "dslc: 1\nmodel:\n  name: m\n  inputs: {x: [4]}\n  layers:\n    - relu\n   - relu\n"
    with pytest.raises(DslcErrors) as info:
        load_text(text, "yaml")
    error = info.value.errors[0]
    assert (error.code, error.span.line, error.span.col) == ("E010", 7, 4)
    assert "indented less than the one on line 6 (3 spaces, not 4)" in error.message


def test_a_section_indented_under_another_is_the_only_key_with_that_hint() -> None:
    text = VALID_YAML + "  dslc: 1\n  outptus: [relu_1]\n"
    with pytest.raises(DslcErrors) as info:
        load_text(text, "yaml")
    hints = {e.message: e.hint for e in info.value.errors}
    assert hints["model: unknown key 'dslc'"] == "'dslc' belongs at the top level: remove its indentation"
    assert hints["model: unknown key 'outptus'"] == "did you mean 'outputs'? valid: name, inputs, layers, outputs"


# -- hints and escapes -----------------------------------------------------------------------------------------------
def test_a_closed_set_hint_lists_what_fits_a_line() -> None:
    reset_hint_budget()
    names = [f"name_{i:02}" for i in range(40)]
    hint = closed_set_hint("nothing_alike", names)
    assert hint.startswith("valid: name_00, name_01, ") and hint.endswith(", …") and len(hint) < 110
    assert closed_set_hint("adma", ["sgd", "adam"]) == "did you mean 'adam'? valid: sgd, adam"


def test_a_look_alike_letter_is_named_and_escaped() -> None:
    reset_hint_budget()
    assert did_you_mean("d\u0435nse", ["dense"]) == \
        "did you mean 'dense'? (U+0435 CYRILLIC SMALL LETTER IE is not an ASCII letter)"
    assert printable("d\u0435nse") == "d\\u0435nse"
    assert printable("\uff44ense") == "\\uff44ense"  # a fullwidth 'd'
    # Whole words in one script print as written: accented Latin, Cyrillic next to ASCII only across '_'.
    assert printable("données_модель_v2.npz") == "données_модель_v2.npz"
