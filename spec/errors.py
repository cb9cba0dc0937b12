"""Located errors: one exception type for every stage, rendered like a compiler.

Every problem dslc finds in a spec becomes a `DslcError` that carries a stable
code, a `Span` into the source text, an optional hint and related locations.
`DslcErrors` collects all errors of one file so they are reported in one run.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

MAX_SHOWN_VALUE = 60


@dataclass(frozen=True)
class Span:
    """A region of a source file; lines and columns are 1-based."""

    file: str
    line: int
    col: int
    end_line: int | None = None
    end_col: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class DslcError(Exception):
    """One finding: `file:line:col: error[CODE]: message`."""

    code: str
    message: str
    span: Span | None = None
    hint: str | None = None
    stage: str = "spec"
    related: tuple[tuple[str, Span], ...] = field(default=())

    def __str__(self) -> str:
        return self.headline()

    def headline(self) -> str:
        where = f"{self.span}: " if self.span else ""
        return f"{where}error[{self.code}]: {printable(self.message)}"

    def render(self, source: str | None = None) -> str:
        """The headline, the source line with a caret under the span, the hint, related notes."""
        lines = [self.headline()]
        excerpt = _excerpt(source, self.span)
        if excerpt:
            lines.extend(excerpt)
        if self.hint:
            lines.append(f"  hint: {printable(self.hint)}")
        for note, span in self.related:
            lines.append(f"  note: {span}: {printable(note)}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        span = self.span
        return {
            "code": self.code,
            "message": self.message,
            "file": span.file if span else None,
            "line": span.line if span else None,
            "column": span.col if span else None,
            "end_line": span.end_line if span else None,
            "end_column": span.end_col if span else None,
            "hint": self.hint,
            "stage": self.stage,
            "related": [{"message": m, "file": s.file, "line": s.line, "column": s.col} for m, s in self.related],
        }


class DslcErrors(Exception):
    """All errors found in one file, in source order."""

    def __init__(self, errors: Iterable[DslcError], source: str | None = None):
        unique = list(dict.fromkeys(errors))
        self.errors = sorted(unique, key=_sort_key)
        self.source = source  # the file's text, for excerpts under each error
        super().__init__("\n".join(e.headline() for e in self.errors))


def _sort_key(error: DslcError) -> tuple[int, int]:
    return (error.span.line, error.span.col) if error.span else (0, 0)


class ErrorSink:
    """Collects errors during a pass so that one run reports all of them."""

    def __init__(self) -> None:
        self.errors: list[DslcError] = []

    def add(self, error: DslcError) -> None:
        self.errors.append(error)

    def raise_if_any(self) -> None:
        if self.errors:
            raise DslcErrors(self.errors)


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidate, or None when nothing is close."""
    matches = difflib.get_close_matches(word, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None


def printable(text: str, limit: int | None = None) -> str:
    """Escape control, format (bidi) and other invisible characters; optionally truncate."""
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    out = []
    for ch in text:
        if ch in "\n\t":
            out.append(repr(ch)[1:-1])
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    return "".join(out)


def show_value(value: object) -> str:
    """A short, printable rendering of a user value for messages."""
    return printable(repr(value), limit=MAX_SHOWN_VALUE)


def _excerpt(source: str | None, span: Span | None) -> list[str]:
    if source is None or span is None:
        return []
    lines = source.splitlines()
    if not 1 <= span.line <= len(lines):
        return []
    text = lines[span.line - 1]
    if len(text) > 200:
        return []
    width = 1
    if span.end_line == span.line and span.end_col and span.end_col > span.col:
        width = span.end_col - span.col
    shown = printable(text)
    if shown != text:  # escaped characters shift columns: show the line, skip the caret
        return [f"    {shown}"]
    return [f"    {text}", "    " + " " * (span.col - 1) + "^" * width]
