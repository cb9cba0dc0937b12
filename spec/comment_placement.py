"""Which item each comment of a spec belongs to, as an IR path both printers understand.

An own-line comment belongs to the next item in the text, unless it is the last
thing in a section (a block, `model`, `train`: inside the DSL's braces, or
indented under the YAML key), where it belongs to the section's end, or the
last thing in the file. A trailing comment belongs to the last item that
starts before it on its line or above (a comment after the DSL's `}` to the
end of the section it closes). The items are the paths of the source map,
each starting where the first of its parts starts, and the keys that the map
does not record (the version, `blocks`, `params`, `inputs` and `layers`).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from dslc.spec.comments import Comment, find_comments
from dslc.spec.load import LoadedSpec
from dslc.spec.printed import END, INDENT, PlacedComment, indentation
from dslc.spec.sourcemap import IRPath
from dslc.spec.tree import Map

Position = tuple[int, int]  # (line, column), 1-based


@dataclass(frozen=True)
class _Section:
    path: IRPath
    key: Position
    end: Position


def place_comments(loaded: LoadedSpec) -> list[PlacedComment]:
    """Every comment of the loaded file with the path it belongs to, in source order."""
    text, syntax = loaded.source.text, loaded.syntax
    comments = find_comments(text, syntax)
    if not comments:
        return []
    starts, items = _item_starts(loaded)
    # items by start, the outermost first where several start together (paths of mixed types never compare)
    anchors = sorted(((starts[path], len(path), path) for path in items), key=lambda item: item[:2])
    positions = [start for start, _, _ in anchors]
    sections = _sections(loaded)
    lines = text.splitlines()
    placed = []
    for comment in comments:
        path, trailing = _attach(comment, anchors, positions, sections, syntax)
        indent = _reference_indent(path, starts, sections, lines)
        placed.append(PlacedComment(comment.text, path, trailing, comment.col,
                                    indentation(lines[comment.line - 1]), comment.col - 1 - indent,
                                    comment.own_line and _blank(lines, comment.line - 1),
                                    comment.own_line and _blank(lines, comment.line + 1)))
    return placed


def _attach(comment: Comment, anchors: list[tuple[Position, int, IRPath]], positions: list[Position],
            sections: list[_Section], syntax: str) -> tuple[IRPath, bool]:
    """The path the comment belongs to, and whether it trails a line."""
    where: Position = (comment.line, comment.col)
    section = _section_around(sections, where, syntax)
    if not comment.own_line:
        closed = _closed_on(sections, comment.line) if syntax == "dsl" and section is None else None
        if closed is not None:  # after a `}`
            return (*closed.path, END), True
        preceding = bisect_left(positions, where) - 1
        if preceding >= 0:
            return anchors[preceding][2], True
    following = bisect_right(positions, where)
    item = anchors[following][2] if following < len(anchors) else None
    if section is not None and (item is None or item[:len(section.path)] != section.path):
        return (*section.path, END), False
    if item is not None:
        return item, False
    return (END,), False


def _reference_indent(path: IRPath, starts: dict[IRPath, Position], sections: list[_Section],
                      lines: list[str]) -> int:
    """The indentation an own-line comment at `path` has by default, in the source: its item's, or one level
    deeper than its section's key at a section's end; 0 at the file's end."""
    if path == (END,):
        return 0
    if path[-1] == END:
        key_line = next(section.key[0] for section in sections if section.path == path[:-1])
        return indentation(lines[key_line - 1]) + len(INDENT)
    return indentation(lines[starts[path][0] - 1])


def _blank(lines: list[str], number: int) -> bool:
    return 1 <= number <= len(lines) and not lines[number - 1].strip()


def _item_starts(loaded: LoadedSpec) -> tuple[dict[IRPath, Position], list[IRPath]]:
    """Where each item starts: the earliest start of its key, its value and everything inside it; and the items
    a comment can belong to (those written in the file: the recorded paths and the keys)."""
    recorded: dict[IRPath, Position] = {}
    for path, located in loaded.source_map.spans.items():
        span = located.key or located.value
        recorded[path] = (span.line, span.col)
    recorded.update(_unrecorded_keys(loaded))
    starts: dict[IRPath, Position] = {}
    for path, start in recorded.items():
        for end in range(1, len(path) + 1):
            prefix = path[:end]
            if prefix not in starts or start < starts[prefix]:
                starts[prefix] = start
    return starts, list(recorded)


def _unrecorded_keys(loaded: LoadedSpec) -> dict[IRPath, Position]:
    """The keys that name no IR value of their own: `dslc`, `params`, and in YAML `blocks`, `inputs` and `layers`
    (the DSL writes no such words: its tree places them at the first block and at the opening brackets)."""
    root = _document(loaded)
    names = ("params", "inputs", "layers") if loaded.syntax == "yaml" else ("params",)
    keys: dict[IRPath, Position] = {}
    for entry in root:
        if entry.key == "dslc" or loaded.syntax == "yaml":
            path: IRPath = ("version",) if entry.key == "dslc" else (str(entry.key),)
            keys[path] = (entry.key_span.line, entry.key_span.col)
        if entry.key == "model" and isinstance(entry.value, Map):
            keys.update(_list_keys(entry.value, ("model",), names))
        elif entry.key == "blocks" and isinstance(entry.value, Map):
            for index, block in enumerate(entry.value):
                if isinstance(block.value, Map):
                    keys.update(_list_keys(block.value, ("blocks", index), names))
    return keys


def _list_keys(section: Map, path: IRPath, names: tuple[str, ...]) -> dict[IRPath, Position]:
    return {(*path, str(entry.key)): (entry.key_span.line, entry.key_span.col) for entry in section
            if entry.key in names}


def _document(loaded: LoadedSpec) -> Map:
    """The located tree of the file (already parsed once without errors, so this parse succeeds)."""
    if loaded.syntax == "yaml":
        from dslc.spec.yaml_frontend import parse_yaml
        return parse_yaml(loaded.source, loaded.limits)
    from dslc.spec.dsl_frontend import parse_dsl
    return parse_dsl(loaded.source, loaded.limits)


def _sections(loaded: LoadedSpec) -> list[_Section]:
    """The blocks, `model` and `train`, from their key to the end of their value."""
    sections = []
    for path, located in loaded.source_map.spans.items():
        is_section = path in (("model",), ("train",)) or (len(path) == 2 and path[0] == "blocks")
        value = located.value
        if is_section and located.key is not None and value.end_line is not None and value.end_col is not None:
            sections.append(_Section(path, (located.key.line, located.key.col), (value.end_line, value.end_col)))
    return sections


def _section_around(sections: list[_Section], where: Position, syntax: str) -> _Section | None:
    """The section whose text holds the comment; in YAML also indented deeper than the section's key."""
    for section in sections:
        if section.key < where < section.end and (syntax == "dsl" or where[1] > section.key[1]):
            return section
    return None


def _closed_on(sections: list[_Section], line: int) -> _Section | None:
    """The DSL section whose closing brace is on `line`."""
    return next((section for section in sections if section.end[0] == line), None)
