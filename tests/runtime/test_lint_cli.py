"""`dslc check` with lint warnings: every output format, --select/--ignore/--warnings-as-errors, configuration
files, and the project's own specs (examples, the zoo, the README's spec blocks) lint clean."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dslc.compiler.check import check_source
from dslc.compiler.lint import lint
from dslc.runtime.cli import main
from dslc.spec.lint_examples import LINT_EXAMPLES
from dslc.spec.load import Syntax
from dslc.spec.source import Source

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(path for folder in (ROOT / "examples", ROOT / "examples" / "zoo")
                  for pattern in ("*.yaml", "*.dsl") for path in folder.glob(pattern))


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    """A spec with two warnings: W105 (the conv's bias before the batch norm) at line 4, W101 (dense_1) at line 8."""
    path = tmp_path / "m.dsl"
    text = LINT_EXAMPLES["W105"].bad.replace("global_avgpool\n  dense(10)",
                                             "pooled: global_avgpool\n  dense(4, activation=relu)\n"
                                             "  dense(10, from=[pooled])")
    path.write_text(text)
    return path


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["check", *args])
    return code, capsys.readouterr().out


def test_text_renders_warnings_like_errors_and_counts_them(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(capsys, str(spec))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"{spec}: ok: model 'm'")
    assert lines[1] == f"{spec}:4:3: warning[W105]: layer 'conv2d_1': its bias (16 parameters) is cancelled by the " \
                       "batch norm 'batchnorm_1' after it (the norm's shift takes its place)"
    assert lines[2:4] == ["      conv2d(16, 3)", "      ^^^^^^"]
    assert lines[4] == "  hint: set `use_bias: false` (DSL `use_bias=false`)"
    assert lines[5].startswith(f"{spec}:8:3: warning[W101]: layer 'dense_1': its output reaches no model output")
    assert lines[-1] == "1 file(s) checked: 1 valid, 0 invalid (0 error(s), 2 warning(s))"


def test_warnings_as_errors_fails_the_run(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check(capsys, "--warnings-as-errors", str(spec))[0] == 1
    assert check(capsys, "--warnings-as-errors", "--ignore", "W101,W105", str(spec))[0] == 0


@pytest.mark.parametrize(("flags", "shown"), [
    (["--select", "W105"], ["W105"]),
    (["--select", "w1", "--ignore", "W105"], ["W101"]),
    (["--ignore", "W1"], []),
])
def test_select_and_ignore(spec: Path, capsys: pytest.CaptureFixture[str], flags: list[str], shown: list[str]) -> None:
    code, out = check(capsys, *flags, str(spec))
    assert code == 0 and re.findall(r"warning\[(W\d+)\]", out) == shown


def test_an_unknown_selector_is_a_usage_error(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check", "--select", "W9", str(spec)])
    assert exited.value.code == 2 and "'W9' selects no lint rule" in capsys.readouterr().err


def test_json_lists_each_files_warnings(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(capsys, "--format", "json", str(spec))
    report = json.loads(out)
    [entry] = report["files"]
    assert code == 0 and entry["ok"] is True
    assert [(w["code"], w["line"], w["level"], w["stage"]) for w in entry["warnings"]] == [
        ("W105", 4, "warning", "lint"), ("W101", 8, "warning", "lint")]
    code, out = check(capsys, "--format", "json", "--warnings-as-errors", str(spec))
    assert code == 1 and json.loads(out)["files"][0]["ok"] is False  # the warnings fail the file


def test_github_annotates_warnings(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(capsys, "--format", "github", str(spec))
    lines = out.strip().splitlines()
    assert code == 0 and [line.split(" ", 1)[0] for line in lines] == ["::warning", "::warning"]
    assert "line=4,col=3," in lines[0] and "title=W105::" in lines[0]


def test_sarif_results_and_rules_are_warnings(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(capsys, "--format", "sarif", str(spec))
    run = json.loads(out)["runs"][0]
    assert code == 0
    assert [(r["ruleId"], r["level"]) for r in run["results"]] == [("W105", "warning"), ("W101", "warning")]
    assert {rule["id"]: rule["defaultConfiguration"]["level"] for rule in run["tool"]["driver"]["rules"]} == {
        "W101": "warning", "W105": "warning"}
    assert run["tool"]["driver"]["rules"][0]["shortDescription"]["text"].startswith("a dead layer")


def test_a_file_with_errors_gets_no_lint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.dsl"
    path.write_text(LINT_EXAMPLES["W101"].bad.replace("dense(8,", "dense(0,"))
    code, out = check(capsys, "--format", "json", str(path))
    [entry] = json.loads(out)["files"]
    assert code == 2 and [e["code"] for e in entry["errors"]] == ["E202"] and entry["warnings"] == []


def test_the_configuration_beside_the_spec_applies(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (spec.parent / "pyproject.toml").write_text('[tool.dslc.lint]\nselect = ["W105"]\n')
    assert re.findall(r"warning\[(W\d+)\]", check(capsys, str(spec))[1]) == ["W105"]
    # The command line's selection replaces the file's; its ignores add to the file's.
    assert re.findall(r"warning\[(W\d+)\]", check(capsys, "--select", "W1", str(spec))[1]) == ["W105", "W101"]
    (spec.parent / "pyproject.toml").write_text('[tool.dslc.lint]\nignore = ["W105"]\n')
    assert check(capsys, "--ignore", "W101", "--warnings-as-errors", str(spec))[0] == 0


def test_a_broken_configuration_makes_the_file_invalid(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (spec.parent / "dslc.toml").write_text('[lint]\nselect = ["X1"]\n')
    code, out = check(capsys, str(spec))
    assert code == 2 and "dslc.toml:1:1: error[E205]: dslc.toml: lint setting 'select': 'X1' selects no rule" in out


# --- the project's own specs -------------------------------------------------------------------------------------

def test_every_example_lints_clean(capsys: pytest.CaptureFixture[str]) -> None:
    # An example whose data is written by examples/write_data.py (git keeps none) says so in an ignore-file[W109]
    code, out = check(capsys, "--warnings-as-errors", *map(str, EXAMPLES))
    assert code == 0, out
    assert "warning[" not in out and f"{len(EXAMPLES)} file(s) checked: {len(EXAMPLES)} valid" in out


def readme_specs() -> list[tuple[Syntax, str]]:
    """The README's spec blocks before the generated reference (whose lint examples are meant to warn)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    text = text[:text.index("<!-- reference:start -->")]
    found: list[tuple[Syntax, str]] = []
    for body in re.findall(r"```\w*\n(.*?)```", text, re.S):
        if body.startswith("dslc: 1"):
            found.append(("yaml", body))
        elif body.startswith("dslc 1"):
            found.append(("dsl", body))
    return found


def test_the_readme_specs_lint_clean() -> None:
    specs = readme_specs()
    assert {syntax for syntax, _ in specs} == {"yaml", "dsl"}
    for syntax, body in specs:
        loaded, analysis = check_source(Source(f"README.{syntax}", body), syntax).valid()
        assert lint(loaded, analysis) == [], body


def test_train_prints_the_warnings_before_it_starts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "double_softmax.dsl"  # W103; its data file is missing, so training stops before any step
    spec.write_text(LINT_EXAMPLES["W103"].bad.replace("data = digits", 'data = npz("missing.npz")'))
    assert main(["train", str(spec), "--workdir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert re.findall(r"(warning|error)\[(\w+)\]", err) == [("warning", "W103"), ("error", "E701")]
    assert main(["train", str(spec), "--workdir", str(tmp_path / "run"), "--quiet"]) == 2
    assert "warning[" not in capsys.readouterr().err
