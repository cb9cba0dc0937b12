"""The comments of a spec file, with their positions, in either syntax.

Both syntaxes write comments with `#`, but a `#` inside a string is text, so
each syntax is scanned by its own rules: YAML with PyYAML's scanner (a comment
is a `#` outside every token that follows a blank or starts a line), the DSL
line by line (its strings are double-quoted and never span lines). The
formatter re-attaches comments to the items they belong to, and the linter reads
`# dslc: ignore[...]` from them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Comment:
    line: int  # 1-based
    col: int  # 1-based column of the '#'
    text: str  # from the '#' to the end of the line, trailing blanks removed
    own_line: bool  # nothing but blanks before it on its line


def find_comments(text: str, syntax: str = "yaml") -> list[Comment]:
    """Every comment in `text`, in source order. `syntax` is "yaml" or "dsl"."""
    lines = text.splitlines()
    if syntax == "dsl":
        starts = [(number, col) for number, line in enumerate(lines, start=1)
                  if (col := _dsl_comment_start(line)) is not None]
    else:
        starts = _yaml_comment_starts(text, lines)
    return [_comment(lines[number - 1], number, col) for number, col in starts]


def _comment(line: str, number: int, col: int) -> Comment:
    return Comment(number, col, line[col - 1:].rstrip(), not line[:col - 1].strip())


def _dsl_comment_start(line: str) -> int | None:
    in_string = escaped = False
    for index, char in enumerate(line):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "#":
            return index + 1
    return None


def _yaml_comment_starts(text: str, lines: list[str]) -> list[tuple[int, int]]:
    covered = _token_lines(text)
    starts = []
    for number, line in enumerate(lines, start=1):
        spans = covered.get(number - 1, [])
        for index, char in enumerate(line):
            if char != "#" or (index and line[index - 1] not in " \t"):
                continue
            if not any(start <= index < end for start, end in spans):
                starts.append((number, index + 1))
                break
    return starts


def _token_lines(text: str) -> dict[int, list[tuple[int, int]]]:
    """For each 0-based line, the column ranges that tokens (scalars, tags, anchors...) cover on it."""
    import yaml  # here: checking a .dsl file needs no YAML

    covered: dict[int, list[tuple[int, int]]] = {}
    for token in yaml.scan(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        start, end = token.start_mark, token.end_mark
        if start.index == end.index:
            continue
        for line in range(start.line, end.line + 1):
            first = start.column if line == start.line else 0
            last = end.column if line == end.line else 1 << 30
            covered.setdefault(line, []).append((first, last))
    return covered
