"""Reading a spec file: byte budget, strict UTF-8 decoding, then characters no spec may hold raw."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from dslc.spec.errors import DslcError, DslcErrors, Span
from dslc.spec.limits import Limits

# Bidirectional controls change the order in which text is displayed, not the order in which it is read:
# a comment can hide code and a name can look like another (Trojan Source, CVE-2021-42574).
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Line breaks that PyYAML counts but the DSL, git and spans do not (they break at "\n", CRLF included):
# with one in the file, the two syntaxes would see different lines.
_ODD_LINE_BREAKS = re.compile("\r(?!\n)|[\x85\u2028\u2029]")


@dataclass(frozen=True)
class Source:
    """The text of one spec file and the name used in error locations."""

    name: str
    text: str

    def span_at(self, offset: int, length: int = 0) -> Span:
        """The 1-based line and column of a character offset (and of the end of `length` characters after it)."""
        line = self.text.count("\n", 0, offset) + 1
        col = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return Span(self.name, line, col, line, col + length) if length else Span(self.name, line, col)


def read_source(path: Path, limits: Limits, name: str | None = None) -> Source:
    name = name or str(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(limits.max_bytes + 1)
    except OSError as exc:
        raise DslcError("E001", f"cannot read the file: {exc.strerror or exc}", Span(name, 1, 1)) from None
    if len(data) > limits.max_bytes:
        size = path.stat().st_size
        message = limits.exceeded("the file's size in bytes", size, limits.max_bytes, "--max-bytes")
        raise DslcError("E002", message, Span(name, 1, 1))
    return decode_source(data, name)


def decode_source(data: bytes, name: str) -> Source:
    """Strict UTF-8 (a leading byte-order mark is dropped); NUL bytes are rejected (`DslcError`), and so are
    bidirectional controls and line breaks other than LF and CRLF (`DslcErrors` with the text, for the excerpt)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start].decode("utf-8", errors="replace")
        span = Source(name, prefix).span_at(len(prefix))
        raise DslcError("E003", f"invalid UTF-8 byte 0x{data[exc.start]:02x}", span,
                        hint="save the file as UTF-8") from None
    nul = text.find("\0")
    if nul >= 0:
        raise DslcError("E003", "the file contains a NUL byte", Source(name, text).span_at(nul))
    source = Source(name, text)
    errors = [error for error in (_bidi_control(source), _odd_line_break(source)) if error is not None]
    if errors:
        raise DslcErrors(errors, text)
    return source


def _bidi_control(source: Source) -> DslcError | None:
    found = _first(_BIDI_CONTROLS, source)
    if found is None:
        return None
    char, span, more = found
    return DslcError("E018", f"bidirectional control character {_describe(char)}{_and_more(more)}", span,
                     hint=f"it makes the text display in another order than dslc reads it (Trojan Source): delete "
                          f"it (in a quoted string, write the escape {_escape(char)})")


def _odd_line_break(source: Source) -> DslcError | None:
    found = _first(_ODD_LINE_BREAKS, source)
    if found is None:
        return None
    char, span, more = found
    if char == "\r":
        message, hint = "a carriage return (CR) without a line feed", "save the file with LF or CRLF line endings"
    else:
        message, hint = _describe(char), f"use a new line or a space (in a quoted string, the escape {_escape(char)})"
    return DslcError("E019", f"{message}{_and_more(more)}: YAML reads it as a line break, the DSL, git and "
                             "error locations do not", span, hint=hint)


def _first(pattern: re.Pattern[str], source: Source) -> tuple[str, Span, int] | None:
    """The first character `pattern` finds, where it is, and how many more there are in the file."""
    found = pattern.search(source.text)
    if found is None:
        return None
    return found.group(), source.span_at(found.start(), 1), len(pattern.findall(source.text)) - 1


def _describe(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, 'NEXT LINE (NEL)')}"  # U+0085, a control, has no name


def _escape(char: str) -> str:
    return f"\\u{ord(char):04x}"


def _and_more(count: int) -> str:
    return f" (and {count} more in the file)" if count else ""
