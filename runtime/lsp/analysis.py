"""A document's text -> the findings of `dslc check` and, when it is valid, its loaded spec and analysis.

The same stages as `dslc check` (compiler.check, then the lint rules configured in the file's folder). Editors
ask for hovers and hints while the text is broken: `Documents` keeps each document's last valid analysis for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from dslc.compiler.analysis.model import Analysis
from dslc.compiler.check import check_source
from dslc.compiler.lint import lint_file
from dslc.spec.errors import DslcError, DslcErrors
from dslc.spec.load import SUFFIXES, LoadedSpec, Syntax
from dslc.spec.source import decode_source


@dataclass(frozen=True)
class Valid:
    """A spec that checked clean of errors: what hover, hints, symbols and definitions read."""

    loaded: LoadedSpec
    analysis: Analysis


@dataclass(frozen=True)
class DocumentAnalysis:
    findings: tuple[DslcError, ...]  # errors, or the lint warnings of a valid spec
    valid: Valid | None


def syntax_of(path: str) -> Syntax | None:
    """The syntax a file name says (.dsl, .yaml, .yml), or None for a document that is no spec."""
    return SUFFIXES.get(PurePath(path).suffix.lower())


def analyse_text(text: str, path: str, syntax: Syntax) -> DocumentAnalysis:
    """Every finding of `dslc check` for `text`, as if it were saved at `path`."""
    try:  # the checks of a file read from disk: strict UTF-8, no NUL, no bidirectional controls
        source = decode_source(text.encode("utf-8"), path)
    except DslcError as error:
        return DocumentAnalysis((error,), None)
    except DslcErrors as errors:
        return DocumentAnalysis(tuple(errors.errors), None)
    checked = check_source(source, syntax)
    if checked.errors is not None:
        return DocumentAnalysis(tuple(checked.errors.errors), None)
    loaded, analysis = checked.valid()
    try:
        warnings = lint_file(loaded, analysis, path)
    except DslcError as error:  # a broken lint configuration makes the file invalid, as in `dslc check`
        return DocumentAnalysis((error,), None)
    return DocumentAnalysis(tuple(warnings), Valid(loaded, analysis))


class Documents:
    """The open documents' latest analyses (one per version) and, for each, the last one that was valid."""

    def __init__(self) -> None:
        self._good: dict[str, Valid] = {}
        self._latest: dict[str, tuple[int, DocumentAnalysis]] = {}  # uri -> (version, its analysis)

    def update(self, uri: str, version: int, text: str, path: str, syntax: Syntax) -> DocumentAnalysis:
        """The analysis of the document's `version` (its `text`): made once, then read back."""
        latest = self._latest.get(uri)
        if latest is not None and latest[0] == version:
            return latest[1]
        result = analyse_text(text, path, syntax)
        self._latest[uri] = (version, result)
        if result.valid is not None:
            self._good[uri] = result.valid
        return result

    def analysed_version(self, uri: str) -> int | None:
        latest = self._latest.get(uri)
        return latest[0] if latest else None

    def valid(self, uri: str) -> Valid | None:
        """The last valid analysis of the document (its spans may lag behind an edit that broke it)."""
        return self._good.get(uri)

    def current(self, uri: str, version: int) -> Valid | None:
        """The analysis of the document's `version` when that text is valid; None while it is broken (or not yet
        analysed)."""
        latest = self._latest.get(uri)
        return latest[1].valid if latest is not None and latest[0] == version else None

    def close(self, uri: str) -> None:
        self._good.pop(uri, None)
        self._latest.pop(uri, None)
