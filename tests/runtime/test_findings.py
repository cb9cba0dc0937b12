"""Machine-readable findings: GitHub Actions annotations and SARIF 2.1.0 (validated against the vendored schema)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from dslc.runtime.findings import GATE_DESCRIPTION, to_github, to_sarif
from dslc.spec.codes import CODES
from dslc.spec.errors import DslcError, Span

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "fixtures" / "sarif-schema-2.1.0.json"

UNKNOWN_KIND = DslcError("E104", "unknown layer kind 'dnse'", Span("examples/m.yaml", 6, 7, 6, 11),
                         hint="did you mean 'dense'?")
BAD_UNITS = DslcError("E202", "dense: units must be >= 1, got 0", Span("examples/m.yaml", 7, 22, 7, 23))
DUPLICATE = DslcError("E012", "duplicate key 'model'", Span("other dir/b.dsl", 3, 1),
                      related=(("first given here", Span("other dir/b.dsl", 1, 1)),))
GATE = DslcError("G001", "verdict 'shallow' does not meet --require deep", Span("examples/m.yaml", 3, 9, 3, 10),
                 stage="gate")
NO_SPAN = DslcError("E001", "cannot read the file: No such file or directory")


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


# --- GitHub ----------------------------------------------------------------------------------------------------

def test_github_lines_are_exact() -> None:
    assert to_github([UNKNOWN_KIND, BAD_UNITS]) == (
        "::error file=examples/m.yaml,line=6,col=7,endLine=6,endColumn=11,title=E104::"
        "unknown layer kind 'dnse'%0Ahint: did you mean 'dense'?\n"
        "::error file=examples/m.yaml,line=7,col=22,endLine=7,endColumn=23,title=E202::"
        "dense: units must be >= 1, got 0\n"
    )


def test_github_without_span_or_end_has_only_what_is_known() -> None:
    assert to_github([NO_SPAN]) == "::error title=E001::cannot read the file: No such file or directory\n"
    start_only = DslcError("E012", "dup", Span("a.yaml", 2, 3))
    assert to_github([start_only]) == "::error file=a.yaml,line=2,col=3,title=E012::dup\n"
    assert to_github([]) == ""


def test_github_escapes_data_and_properties() -> None:
    error = DslcError("E205", "100% bad\r\nvalue: a,b", Span("dir:x/a,b%\r\n.yaml", 1, 1))
    line = to_github([error])
    # In the message printable() has shown CR/LF already; the path is kept as it is and escaped.
    assert line == ("::error file=dir%3Ax/a%2Cb%25%0D%0A.yaml,line=1,col=1,title=E205::"
                    "100%25 bad\\u000d\\nvalue: a,b\n")
    assert line.count("\n") == 1
    hinted = DslcError("E205", "50%", Span("a.yaml", 1, 1), hint="use 1%")
    assert to_github([hinted]).endswith("::50%25%0Ahint: use 1%25\n")


def test_github_escapes_control_and_bidi_characters() -> None:
    error = DslcError("E104", "unknown layer kind 'a\u202eb\x1b'", Span("a.yaml", 1, 1))
    line = to_github([error])
    assert "\u202e" not in line and "\x1b" not in line
    assert "a\\u202eb\\u001b" in line


def test_github_absolute_paths_inside_the_root_become_relative(tmp_path: Path) -> None:
    error = DslcError("E104", "x", Span(str(tmp_path / "sub" / "m.yaml"), 1, 2))
    assert to_github([error], root=tmp_path).startswith("::error file=sub/m.yaml,line=1,col=2,")


@dataclass(frozen=True)
class _Warning:
    """A finding with a level, as a later warning-level finding would carry it."""

    code: str
    message: str
    span: Span | None = None
    hint: str | None = None
    related: tuple = ()
    level: str = "warning"


def test_levels_map_to_github_commands_and_sarif_levels(validator: jsonschema.Draft7Validator) -> None:
    warning = _Warning("G002", "params 1,000 exceed --max-params 10")
    note = _Warning("G003", "fyi", level="note")
    assert to_github([warning, note]) == ("::warning title=G002::params 1,000 exceed --max-params 10\n"
                                          "::notice title=G003::fyi\n")  # ',' is escaped in properties only
    log = to_sarif([warning, note], [], "0.1.0")  # type: ignore[list-item]
    validator.validate(log)
    assert [r["level"] for r in log["runs"][0]["results"]] == ["warning", "note"]


# --- SARIF -----------------------------------------------------------------------------------------------------

def _log() -> dict:
    files = ["examples/m.yaml", "other dir/b.dsl", "examples/clean.yaml"]
    return to_sarif([UNKNOWN_KIND, BAD_UNITS, DUPLICATE, GATE, NO_SPAN, UNKNOWN_KIND], files, "0.1.0")


def test_sarif_validates_against_the_vendored_schema(validator: jsonschema.Draft7Validator) -> None:
    log = _log()
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]
    # The file declares draft-04 (OASIS' own): it validates under that draft too.
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(log)
    json.dumps(log)  # plain JSON


def test_sarif_schema_rejects_a_broken_log(validator: jsonschema.Draft7Validator) -> None:
    log = _log()
    log["runs"][0]["results"][0]["level"] = "fatal"
    del log["runs"][0]["tool"]["driver"]["name"]
    assert len(list(validator.iter_errors(log))) == 2


def test_sarif_has_one_rule_per_code_used() -> None:
    run = _log()["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == ["E001", "E012", "E104", "E202", "G001"]
    assert rules[2]["shortDescription"]["text"] == CODES["E104"]
    gate_rule = rules[4]
    assert gate_rule["shortDescription"]["text"] == CODES.get("G001", GATE_DESCRIPTION)
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    assert run["tool"]["driver"]["name"] == "dslc"
    assert run["tool"]["driver"]["version"] == "0.1.0"


def test_sarif_results_carry_level_message_and_region() -> None:
    log = _log()
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-schema-2.1.0.json")
    run = log["runs"][0]
    first = run["results"][0]
    assert first["ruleId"] == "E104" and first["level"] == "error"
    assert first["message"]["text"] == "unknown layer kind 'dnse'\nhint: did you mean 'dense'?"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "examples/m.yaml"
    assert location["region"] == {"startLine": 6, "startColumn": 7, "endLine": 6, "endColumn": 11}
    gate = run["results"][3]
    assert gate["ruleId"] == "G001"
    assert gate["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    assert "locations" not in run["results"][4]  # no span: no location
    duplicate = run["results"][2]
    assert duplicate["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "other%20dir/b.dsl"
    assert duplicate["relatedLocations"][0]["message"]["text"] == "first given here"
    assert duplicate["locations"][0]["physicalLocation"]["region"] == {"startLine": 3, "startColumn": 1}


def test_sarif_artifacts_list_every_file_and_indices_match() -> None:
    run = _log()["runs"][0]
    uris = [artifact["location"]["uri"] for artifact in run["artifacts"]]
    assert uris == ["examples/m.yaml", "other%20dir/b.dsl", "examples/clean.yaml"]
    for result in run["results"]:
        for location in result.get("locations", []):
            artifact = location["physicalLocation"]["artifactLocation"]
            assert uris[artifact["index"]] == artifact["uri"]


def test_sarif_paths_are_relative_with_forward_slashes(tmp_path: Path, validator: jsonschema.Draft7Validator) -> None:
    inside = DslcError("E104", "x", Span(str(tmp_path / "a" / "m.yaml"), 1, 1))
    outside = DslcError("E104", "x", Span("/elsewhere/n.yaml", 1, 1))
    windows = DslcError("E104", "x", Span("a\\b\\w.yaml", 1, 1))
    log = to_sarif([inside, outside, windows], [str(tmp_path / "a" / "m.yaml")], "0.1.0", root=tmp_path)
    validator.validate(log)
    uris = [a["location"]["uri"] for a in log["runs"][0]["artifacts"]]
    assert uris == ["a/m.yaml", "file:///elsewhere/n.yaml", "a/b/w.yaml"]


def test_sarif_with_no_findings_is_valid(validator: jsonschema.Draft7Validator) -> None:
    log = to_sarif([], ["examples/m.yaml"], "0.1.0")
    validator.validate(log)
    assert log["runs"][0]["results"] == [] and log["runs"][0]["tool"]["driver"]["rules"] == []


def test_notes_are_github_notices_and_sarif_tool_notifications(validator: jsonschema.Draft7Validator) -> None:
    """`dslc check` notes that findings past --max-errors are not shown; a note has no location."""
    note = "m.yaml: 5 more error(s) not shown (at most 1 per file; raise it with --max-errors)"
    assert to_github([UNKNOWN_KIND], notes=[note]).splitlines()[1] == f"::notice title=dslc::{note}"
    log = to_sarif([UNKNOWN_KIND], ["examples/m.yaml"], "0.1.0", notes=[note])
    validator.validate(log)
    [invocation] = log["runs"][0]["invocations"]
    assert invocation["toolExecutionNotifications"] == [{"level": "note", "message": {"text": note}}]
    assert "invocations" not in to_sarif([UNKNOWN_KIND], ["examples/m.yaml"], "0.1.0")["runs"][0]
