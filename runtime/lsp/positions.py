"""dslc spans (1-based lines and columns, in characters) <-> LSP positions (0-based, in UTF-16 code units)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from lsprotocol import types

from dslc.spec.errors import Span

_WORD = re.compile(r"[\w.$-]+")  # a name, number or `$param`: what a span without an end points at


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def position(lines: Sequence[str], line: int, col: int) -> types.Position:
    """The LSP position of the 1-based `line` and character column `col` (clamped to the text)."""
    index = min(max(line, 1), max(len(lines), 1)) - 1
    text = lines[index] if lines else ""
    return types.Position(index, utf16_length(text[: max(col - 1, 0)]))


def to_range(span: Span | None, lines: Sequence[str]) -> types.Range:
    """The range of a span; one without an end covers the word it starts on (one character at least)."""
    if span is None:
        return types.Range(types.Position(0, 0), types.Position(0, 0))
    start = position(lines, span.line, span.col)
    if span.end_line is not None and span.end_col is not None:
        return types.Range(start, position(lines, span.end_line, span.end_col))
    text = lines[start.line] if start.line < len(lines) else ""
    word = _WORD.match(text, span.col - 1)
    end_col = word.end() + 1 if word else span.col + 1
    return types.Range(start, position(lines, span.line, end_col))


def span_text(lines: Sequence[str], span: Span) -> str:
    """The text a one-line span covers ('' for a span over several lines or past the text)."""
    text = lines[span.line - 1] if span.line <= len(lines) else ""
    return text[span.col - 1:(span.end_col or span.col) - 1] if span.end_line == span.line else ""


def character_column(lines: Sequence[str], pos: types.Position) -> int:
    """The 1-based character column of an LSP position (UTF-16 units counted back to characters)."""
    text = lines[pos.line] if pos.line < len(lines) else ""
    units = 0
    for index, char in enumerate(text):
        if units >= pos.character:
            return index + 1
        units += utf16_length(char)
    return len(text) + 1
