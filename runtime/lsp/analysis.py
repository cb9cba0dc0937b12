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
    """The open documents' latest analyses and, for each, the last one that was valid."""

    def __init__(self) -> None:
        self._good: dict[str, Valid] = {}
        self._current: set[str] = set()  # the documents whose text as it is now is valid

    def update(self, uri: str, text: str, path: str, syntax: Syntax) -> DocumentAnalysis:
        result = analyse_text(text, path, syntax)
        if result.valid is not None:
            self._good[uri] = result.valid
            self._current.add(uri)
        else:
            self._current.discard(uri)
        return result

    def valid(self, uri: str) -> Valid | None:
        """The last valid analysis of the document (its spans may lag behind an edit that broke it)."""
        return self._good.get(uri)

    def current(self, uri: str) -> Valid | None:
        """The analysis of the document's text as it is now: None while the text is broken."""
        return self._good.get(uri) if uri in self._current else None

    def close(self, uri: str) -> None:
        self._good.pop(uri, None)
        self._current.discard(uri)
