"""Every file under tests/fixtures/invalid is rejected with the errors its header promises, at their positions.

A fixture starts with header comment lines:

    # expect: E104 8:7          an error with this code at this line:col (line numbers count the header)
    # hint: did you mean 'dense'?   some error's hint contains this text (optional)
    # xfail: REASON             a known bug in a front end: the test is a strict xfail until it is fixed

`load()` must raise `DslcErrors` holding every expected error, and `dslc check` on all
fixtures at once must exit 2, print each expected `file:line:col: error[CODE]` line,
and never show a traceback.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from dslc.spec.codes import CODES
from dslc.spec.errors import DslcErrors
from dslc.spec.limits import Limits
from dslc.spec.load import load

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "invalid"
PATHS = sorted([*FIXTURES.glob("*.yaml"), *FIXTURES.glob("*.yml"), *FIXTURES.glob("*.dsl")])
EXPECT = re.compile(r"^# expect: (E\d{3}) (\d+):(\d+)\s*$")
HINT = re.compile(r"^# hint: (.+?)\s*$")
XFAIL = re.compile(r"^# xfail: (.+?)\s*$")

# The codes of the loading stages (E0xx-E4xx) that no fixture file can produce, and why.
# (Shape and budget errors of the analysis come after `load()` and are tested with it; G codes
# are policy gates of `dslc check`, not findings about a file's content.)
NOT_FROM_FILE_CONTENT = {
    "E001": "the file cannot be read: a property of the file system, not of its content",
    "E002": "the byte budget is 1 MB: a fixture that large is not a small, focused fixture "
            "(test_the_byte_budget_is_enforced below lowers the budget instead)",
    "E004": "an unknown file suffix: a property of the file name",
    "E017": "the item budget is 100,000 YAML nodes or DSL tokens: a fixture that large is not a small, focused "
            "fixture (test_the_item_budget_is_enforced below lowers the budget instead)",
    "E008": "the parameter budget: enforced by the analysis, after load() (tests/compiler/test_analysis.py)",
    "E009": "the activation-memory budget: enforced by the analysis, after load() (tests/compiler/test_analysis.py)",
    "E016": "the FLOP budget: enforced by the analysis, after load() (tests/compiler/test_analysis.py)",
    "E900": "an internal error: a bug, which no fixture should be able to trigger",
}
FILE_CODES = {code for code in CODES if re.fullmatch(r"E[0-4]\d\d", code)} - set(NOT_FROM_FILE_CONTENT)


@dataclass(frozen=True)
class Expectation:
    errors: tuple[tuple[str, int, int], ...]  # (code, line, col)
    hints: tuple[str, ...]
    xfail: str | None = None  # why the fixture fails today (a known bug, reported)


def expectation(path: Path) -> Expectation:
    """The header of a fixture (decoded leniently: some fixtures hold invalid UTF-8 on purpose)."""
    errors, hints, xfail = [], [], None
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        if not line.startswith("#"):
            break
        if match := EXPECT.match(line):
            errors.append((match[1], int(match[2]), int(match[3])))
        elif match := HINT.match(line):
            hints.append(match[1])
        elif match := XFAIL.match(line):
            xfail = match[1]
    return Expectation(tuple(errors), tuple(hints), xfail)


def _param(path: Path):
    reason = expectation(path).xfail
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(path, id=path.name, marks=marks)


def rejected(path: Path) -> DslcErrors:
    with pytest.raises(DslcErrors) as info:
        load(path)
    return info.value


def test_every_fixture_has_a_header_with_a_known_code() -> None:
    assert PATHS
    for path in PATHS:
        expected = expectation(path)
        assert expected.errors, f"{path.name}: no '# expect: CODE LINE:COL' header line"
        unknown = [code for code, _, _ in expected.errors if code not in CODES]
        assert not unknown, f"{path.name}: unknown codes {unknown}"


@pytest.mark.parametrize("path", [_param(path) for path in PATHS])
def test_fixture_is_rejected_with_the_expected_errors(path: Path) -> None:
    expected = expectation(path)
    errors = rejected(path).errors
    found = {(e.code, e.span.line, e.span.col) for e in errors if e.span is not None}
    shown = "\n".join(e.headline() for e in errors)
    for code, line, col in expected.errors:
        assert (code, line, col) in found, f"expected error[{code}] at {line}:{col}; got:\n{shown}"
    for hint in expected.hints:
        assert any(e.hint and hint in e.hint for e in errors), f"no error with the hint {hint!r}; got:\n{shown}"
    for error in errors:
        assert error.code in CODES and error.code != "E900", error.headline()
        assert error.span is not None and error.span.file == str(path), error.headline()


def test_the_fixtures_cover_every_code_a_file_can_produce() -> None:
    covered = {code for path in PATHS for code, _, _ in expectation(path).errors}
    missing = FILE_CODES - covered
    assert not missing, f"no fixture produces {sorted(missing)}"


def test_there_are_enough_fixtures_in_each_syntax() -> None:
    yaml_count = sum(path.suffix in (".yaml", ".yml") for path in PATHS)
    dsl_count = sum(path.suffix == ".dsl" for path in PATHS)
    assert yaml_count + dsl_count >= 40
    assert yaml_count >= 15 and dsl_count >= 15


def test_the_byte_budget_is_enforced() -> None:
    path = FIXTURES / "unknown_layer_kind.yaml"
    with pytest.raises(DslcErrors) as info:
        load(path, Limits(max_bytes=path.stat().st_size - 1))
    assert [(e.code, e.span.line, e.span.col) for e in info.value.errors] == [("E002", 1, 1)]


@pytest.mark.parametrize("name", ["unknown_layer_kind.yaml", "dsl_unknown_layer_kind.dsl"])
def test_the_item_budget_is_enforced(name: str) -> None:
    path = FIXTURES / name
    with pytest.raises(DslcErrors) as info:
        load(path, Limits(max_items=3))
    assert [e.code for e in info.value.errors] == ["E017"]


def test_dslc_check_reports_every_fixture_in_one_run_without_a_traceback() -> None:
    result = subprocess.run([sys.executable, "-m", "dslc", "check", *map(str, PATHS)],
                            capture_output=True, text=True, timeout=120, check=False)
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert "internal error" not in output
    assert result.returncode == 2, output[-2000:]
    lines = output.splitlines()
    for path in PATHS:
        expected = expectation(path)
        for code, line, col in expected.errors:
            if expected.xfail:  # a known wrong position: the code must still be reported for this file
                prefix = f"{path}:"
                assert any(text.startswith(prefix) and f": error[{code}]: " in text for text in lines), prefix
                continue
            prefix = f"{path}:{line}:{col}: error[{code}]: "
            assert any(text.startswith(prefix) for text in lines), f"missing in the output: {prefix}"
    assert f"{len(PATHS)} file(s) checked: 0 valid, {len(PATHS)} invalid" in output
