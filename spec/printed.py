"""Printed spec text as lines tagged with the IR path each one prints, and comments put back among them.

Both printers produce `PrintedLine`s that use the source map's path vocabulary
(`dslc.spec.sourcemap`), plus `("version",)` for the version line and
`(*section, END)` for a line that closes a section (the DSL's `}`). A comment
attached to a path (`dslc.spec.comment_placement`) goes to the lines that
print that path or, when this syntax prints no line for it, its nearest
ancestor: own-line comments before the first, trailing ones after the last
(a line longer than `WIDTH` is wrapped into several). So the same comments
land in the same places in either syntax, and every comment has a place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from dslc.spec.sourcemap import IRPath

END: Final = -1  # the last step of a path that names the end of a section (indices are never negative)
INDENT: Final = "  "
WIDTH: Final = 120  # longer lines are wrapped inside their brackets (both syntaxes read new lines there as spaces)
_OPENERS, _CLOSERS = "([{", ")]}"


@dataclass(frozen=True)
class PrintedLine:
    text: str
    path: IRPath | None  # None for a blank separator line


@dataclass(frozen=True)
class PlacedComment:
    """A comment and where it belongs: before (or, when trailing, after) what prints `path`."""

    text: str  # from the '#' on
    path: IRPath  # an item's path, `(*section, END)`, or `(END,)` for the end of the file
    trailing: bool
    column: int  # 1-based column of the '#' in its source
    line_indent: int  # the indentation of its line in its source
    offset: int  # own-line: its indentation minus that of the line it refers to in its source
    blank_before: bool
    blank_after: bool


def float_text(value: float) -> str:
    """The shortest text that reads back as `value`, with a plain exponent (`1e-5`, not `1e-05`)."""
    text = repr(value)
    mantissa, exponent, power = text.partition("e")
    return f"{mantissa}e{int(power)}" if exponent else text


def wrapped(lines: list[PrintedLine]) -> list[PrintedLine]:
    """`lines` with each one longer than `WIDTH` broken into several that print the same path."""
    return [PrintedLine(part, line.path) for line in lines for part in _wrap(line.text)]


def _wrap(text: str) -> list[str]:
    """Break a long line after the commas of its outermost bracketed list that has any, filling each line up to
    `WIDTH`; the continuation lines start under the first item. Strings are double-quoted, with `\\` escapes."""
    if len(text) <= WIDTH:
        return [text]
    openers: list[int] = []
    commas: list[tuple[int, int, int]] = []  # (depth, the opening bracket's index, the comma's index)
    in_string = escaped = False
    for index, char in enumerate(text):
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in _OPENERS:
            openers.append(index)
        elif char in _CLOSERS and openers:
            openers.pop()
        elif char == "," and openers:
            commas.append((len(openers), openers[-1], index))
    if not commas:
        return [text]
    depth, opener, _ = min(commas)
    breaks = [comma for level, group, comma in commas if (level, group) == (depth, opener)]
    ends = [*breaks, len(text) - 1]
    pieces = [text[start + 1:end + 1].strip() for start, end in zip([-1, *breaks], ends, strict=True)]
    lines = [text[:breaks[0] + 1]]
    for piece in pieces[1:]:
        if len(lines[-1]) + 1 + len(piece) <= WIDTH:
            lines[-1] += " " + piece
        else:
            lines.append(" " * (opener + 1) + piece)
    return lines


def indentation(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


def render(lines: list[PrintedLine], comments: list[PlacedComment], keep_layout: bool) -> str:
    """The text of `lines` with every comment in its place.

    `keep_layout` (the comments come from a file in the same syntax) keeps each own-line comment's indentation
    relative to its item, and each trailing comment's column where the line it trails is indented as it was
    and leaves room (comments aligned in a column stay so); otherwise they follow the printed text.
    """
    index = _PathIndex(lines)
    before: dict[int, list[str | None]] = {}
    after: dict[int, list[str | None]] = {}
    trailing: dict[int, list[PlacedComment]] = {}
    for comment in comments:
        line, placement, reference = index.target(comment)
        if comment.trailing:
            trailing.setdefault(line, []).append(comment)
            continue
        indent = max(0, reference + comment.offset) if keep_layout else reference
        group = (before if placement == "before" else after).setdefault(line, [])
        group.extend([None] * comment.blank_before + [" " * indent + comment.text] + [None] * comment.blank_after)
    out: list[str] = []
    for number, printed in enumerate(lines):
        _extend(out, before.get(number, []))
        text = printed.text
        for comment in trailing.get(number, []):
            aligned = keep_layout and comment.line_indent == indentation(printed.text)
            width = max(len(text) + 2, comment.column - 1) if aligned else len(text) + 2
            text = text.ljust(width) + comment.text
        _extend(out, [text or None])
        _extend(out, after.get(number, []))
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"


def _extend(out: list[str], lines: list[str | None]) -> None:
    """Append `lines`, where None is a blank line: never two blank lines in a row, none at the start."""
    for line in lines:
        if line is not None:
            out.append(line)
        elif out and out[-1]:
            out.append("")


class _PathIndex:
    """For every path, the first and the last line that print it (a wrapped item prints on several); for every
    path prefix, the first and the last line under it."""

    def __init__(self, lines: list[PrintedLine]) -> None:
        self.lines = lines
        self.exact: dict[IRPath, int] = {}
        self.exact_last: dict[IRPath, int] = {}
        self.first: dict[IRPath, int] = {}
        self.last: dict[IRPath, int] = {}
        for number, line in enumerate(lines):
            if line.path is None:
                continue
            self.exact.setdefault(line.path, number)
            self.exact_last[line.path] = number
            for end in range(1, len(line.path) + 1):
                self.first.setdefault(line.path[:end], number)
                self.last[line.path[:end]] = number

    def target(self, comment: PlacedComment) -> tuple[int, str, int]:
        """(line number, "before" or "after" it, the indentation an own-line comment takes there)."""
        path = comment.path
        if path[-1] == END:
            if path in self.exact:  # a closing line: `}`
                return self.exact[path], "before", self._indent(self.exact[path]) + len(INDENT)
            section = path[:-1]
            if section in self.first:
                return self.last[section], "after", self._indent(self.first[section]) + len(INDENT)
            return len(self.lines) - 1, "after", 0
        if comment.trailing:  # the (last) line of the item or of its nearest printed ancestor
            line = next((self.exact_last[path[:end]] for end in range(len(path), 0, -1) if path[:end] in self.exact),
                        None)
            if line is not None:
                return line, "after", 0
        for end in range(len(path), 0, -1):  # before the first line printed for the item, or for what holds it
            line = self.first.get(path[:end])
            if line is not None:
                return line, "before", self._indent(line)
        return len(self.lines) - 1, "after", 0

    def _indent(self, line: int) -> int:
        return indentation(self.lines[line].text)
