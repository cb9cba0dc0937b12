"""Findings of `dslc check` for machines: GitHub Actions annotations and SARIF 2.1.0 logs.

Both take the same `DslcError`s that the text report prints. Spec errors (E…),
policy-gate failures (G…, created by the caller) and lint warnings (W…) are all
findings; each carries its level ("error" or "warning").
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePath
from urllib.parse import quote

from dslc.spec.codes import CODES
from dslc.spec.errors import DslcError, Span, printable

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_VERSION = "2.1.0"
LEVELS = ("error", "warning", "note")
GATE_DESCRIPTION = "a policy gate failed"  # for G-codes that the catalogue does not list (yet)
_GITHUB_COMMAND = {"error": "error", "warning": "warning", "note": "notice"}


def level_of(error: DslcError) -> str:
    level = getattr(error, "level", "error")  # findings of other shapes (tests) may carry "note"
    return level if level in LEVELS else "error"


def describe(code: str) -> str:
    """The rule's one-line description: the catalogue's, or a generic one for gates and unknown codes."""
    if code in CODES:
        return CODES[code]
    return GATE_DESCRIPTION if code.startswith("G") else f"dslc finding {code}"


def message_text(error: DslcError) -> str:
    """The message, then the hint on a second line; printable (user text may hold control or bidi characters)."""
    text = printable(error.message)
    return f"{text}\nhint: {printable(error.hint)}" if error.hint else text


# --- GitHub Actions workflow commands --------------------------------------------------------------------------

def _escape_data(text: str) -> str:
    # The runner's own rules (actions/toolkit `escapeData`): '%' first, so the escapes are not escaped again.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    # Properties are `key=value` pairs separated by ',' and ended by '::', hence the two extra escapes.
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_line(error: DslcError, root: Path | None = None) -> str:
    """`::error file=F,line=L,col=C,endLine=..,endColumn=..,title=CODE::message` for one finding."""
    props: list[tuple[str, object]] = []
    span = error.span
    if span is not None:
        props += [("file", artifact_path(span.file, root)), ("line", span.line), ("col", span.col)]
        if span.end_line is not None:
            props.append(("endLine", span.end_line))
        if span.end_col is not None:
            props.append(("endColumn", span.end_col))
    props.append(("title", error.code))
    joined = ",".join(f"{key}={_escape_property(str(value))}" for key, value in props)
    return f"::{_GITHUB_COMMAND[level_of(error)]} {joined}::{_escape_data(message_text(error))}"


def to_github(errors: Sequence[DslcError], root: Path | None = None, notes: Sequence[str] = ()) -> str:
    """One workflow command per finding, then a notice per note, newline-terminated (empty when there are none).

    `notes`: about the run rather than a location, e.g. that findings beyond `--max-errors` are not shown.
    """
    lines = [github_line(error, root) for error in errors]
    lines += [f"::{_GITHUB_COMMAND['note']} title=dslc::{_escape_data(printable(note))}" for note in notes]
    return "".join(line + "\n" for line in lines)


# --- SARIF 2.1.0 -----------------------------------------------------------------------------------------------

def artifact_path(file: str, root: Path | None = None) -> str:
    """`file` relative to `root` (default: the working directory) with forward slashes, when it lies inside it."""
    path = Path(file)
    if path.is_absolute():
        base = (root or Path.cwd()).resolve()
        try:
            return path.resolve().relative_to(base).as_posix()
        except ValueError:
            return path.as_posix()
    return PurePath(file.replace("\\", "/")).as_posix()


def artifact_uri(file: str, root: Path | None = None) -> str:
    """A URI reference for SARIF: a relative path when possible, else a `file:` URI; always percent-encoded."""
    path = artifact_path(file, root)
    if Path(path).is_absolute():
        return Path(path).as_uri()
    return quote(path, safe="/")


def _region(span: Span) -> dict[str, int]:
    region = {"startLine": span.line, "startColumn": span.col}
    if span.end_line is not None:
        region["endLine"] = span.end_line
    if span.end_col is not None:  # exclusive, like SARIF's endColumn
        region["endColumn"] = span.end_col
    return region


def _location(span: Span, artifacts: dict[str, int], root: Path | None) -> dict[str, object]:
    uri = artifact_uri(span.file, root)
    index = artifacts.setdefault(uri, len(artifacts))
    return {"physicalLocation": {"artifactLocation": {"uri": uri, "index": index}, "region": _region(span)}}


def to_sarif(errors: Sequence[DslcError], files: Sequence[str], tool_version: str,
             root: Path | None = None, notes: Sequence[str] = ()) -> dict[str, object]:
    """A SARIF 2.1.0 log with one run: a rule per code used, a result per finding, an artifact per file.

    `notes` (as in `to_github`) become the invocation's tool notifications.
    """
    artifacts: dict[str, int] = {}
    for file in files:  # every checked file is an artifact, with or without findings
        artifacts.setdefault(artifact_uri(file, root), len(artifacts))
    levels = {error.code: level_of(error) for error in errors}  # a code has one level: E/G error, W warning
    codes = sorted(levels)
    rule_index = {code: i for i, code in enumerate(codes)}
    results = []
    for error in errors:
        result: dict[str, object] = {"ruleId": error.code, "ruleIndex": rule_index[error.code],
                                     "level": level_of(error), "message": {"text": message_text(error)}}
        if error.span is not None:
            result["locations"] = [_location(error.span, artifacts, root)]
        if error.related:
            result["relatedLocations"] = [{"id": i, **_location(span, artifacts, root),
                                           "message": {"text": printable(note)}}
                                          for i, (note, span) in enumerate(error.related)]
        results.append(result)
    rules = [{"id": code, "shortDescription": {"text": describe(code)},
              "defaultConfiguration": {"level": levels[code]}} for code in codes]
    run = {
        "tool": {"driver": {"name": "dslc", "version": tool_version, "rules": rules}},
        "columnKind": "unicodeCodePoints",  # dslc counts columns in characters of the decoded text
        "artifacts": [{"location": {"uri": uri}, "roles": ["analysisTarget"]} for uri in artifacts],
        "results": results,
    }
    if notes:
        run["invocations"] = [{"executionSuccessful": True, "toolExecutionNotifications": [
            {"level": "note", "message": {"text": printable(note)}} for note in notes]}]
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
