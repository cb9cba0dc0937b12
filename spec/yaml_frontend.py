"""YAML text -> located document tree, from the parser's event stream.

No PyYAML constructor ever runs: the tree is built from `yaml.parse` events, so
tags cannot construct objects, nesting depth and aliases are capped as events
arrive (before anything recursive happens), so is the number of nodes (keys
included), duplicate keys are errors with both
positions, and plain scalars are resolved by the YAML 1.2 core schema plus
exponent floats (`1e-3` is a number; `no` and `on` stay strings).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Protocol

import yaml

from dslc.spec.errors import DslcError, ErrorSink, Span
from dslc.spec.limits import Limits
from dslc.spec.source import Source
from dslc.spec.tree import Entry, Map, Node, Scalar, Seq

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_DECIMAL = re.compile(r"^[-+]?[0-9][0-9_]*$")
_HEX_OCT = re.compile(r"^[-+]?(?:0x[0-9a-fA-F_]+|0o[0-7_]+)$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?$")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SPECIAL_FLOAT = {".inf": float("inf"), ".Inf": float("inf"), ".INF": float("inf"),
                  ".nan": float("nan"), ".NaN": float("nan"), ".NAN": float("nan")}


def parse_yaml(source: Source, limits: Limits) -> Map:
    """Parse a whole YAML spec; raises `DslcError` / `DslcErrors`."""
    try:
        return _parse(source, limits, _Loader)
    except _LibraryDepthLimit:
        # libyaml (PyYAML >= 6.0.4's C parser) refuses flow nesting past a depth of its own, while scanning ahead
        # of the events this builder counts: the pure-Python parser has no such limit, so the depth budget
        # (E005 at the first opener too deep, naming --max-depth) decides whichever PyYAML is installed.
        # Its look-ahead is bounded (a simple key spans at most 1,024 characters of one line).
        return _parse(source, limits, yaml.SafeLoader)


class _LibraryDepthLimit(Exception):
    """The YAML library's own nesting limit was hit before dslc's depth budget could be applied."""


def _is_library_depth_limit(exc: yaml.MarkedYAMLError) -> bool:
    return "maximum nesting depth" in (exc.problem or "")


def _parse(source: Source, limits: Limits, loader: type) -> Map:
    builder = _TreeBuilder(source, limits)
    try:
        root = builder.build(yaml.parse(source.text, Loader=loader))
    except yaml.MarkedYAMLError as exc:
        if _is_library_depth_limit(exc):
            if loader is not yaml.SafeLoader:
                raise _LibraryDepthLimit from None
            mark = exc.problem_mark or exc.context_mark
            raise DslcError("E005", f"nesting depth exceeds the YAML parser's own limit (dslc's budget is "
                                    f"{limits.max_depth}, --max-depth)", _mark_span(source, mark)) from None
        raise _syntax_error(source, exc) from None
    except yaml.YAMLError as exc:  # reader errors: unacceptable characters
        offset = getattr(exc, "position", 0) or 0
        raise DslcError("E010", f"YAML syntax error: {exc}".splitlines()[0], source.span_at(offset)) from None
    builder.sink.raise_if_any()
    if root is None:
        raise DslcError("E014", "the spec is empty", Span(source.name, 1, 1),
                        hint="a spec starts with 'dslc: 1' and a 'model:' section")
    if not isinstance(root, Map):
        raise DslcError("E103", "a spec must be a mapping with 'dslc' and 'model' keys", root.span)
    return root


class _Mark(Protocol):
    """A position in PyYAML's events and errors (its C and Python parsers have a class each)."""

    line: int
    column: int


def _mark_span(source: Source, mark: _Mark | None) -> Span:
    # `decode_source` lets no line break but LF and CRLF through: PyYAML's lines are dslc's.
    return Span(source.name, mark.line + 1, mark.column + 1) if mark else Span(source.name, 1, 1)


def _syntax_error(source: Source, exc: yaml.MarkedYAMLError) -> DslcError:
    """PyYAML's complaint, or what it means where the cause is an indentation mistake (a tab, a list item
    out of line with the one before it)."""
    mark = exc.problem_mark or exc.context_mark
    span = _mark_span(source, mark)
    lines = source.text.split("\n")
    line = lines[span.line - 1] if span.line <= len(lines) else ""
    indentation = line[:len(line) - len(line.lstrip(" \t"))]
    if "\t" in indentation:
        col = indentation.index("\t") + 1
        return DslcError("E010", "YAML syntax error: a tab in the indentation",
                         Span(source.name, span.line, col, span.line, col + 1),
                         hint="YAML indents with spaces only: replace the tab with spaces")
    sibling = _previous_item(lines, span.line) if _is_item(line) else None
    if sibling is not None:
        depth, above = len(indentation), sibling[1]
        where = "more" if depth > above else "less"
        return DslcError("E010", f"YAML syntax error: this list item is indented {where} than the one on line "
                                 f"{sibling[0]} ({depth} spaces, not {above})",
                         Span(source.name, span.line, depth + 1, span.line, depth + 2),
                         hint=f"items of one list start in the same column: indent it by {above} spaces",
                         related=(("the item before it", Span(source.name, sibling[0], above + 1)),))
    problem = exc.problem or exc.context or "invalid YAML"
    hint = "YAML allows no tab here: use spaces" if line[span.col - 1:span.col] == "\t" else None
    return DslcError("E010", f"YAML syntax error: {problem}", span, hint=hint)


def _is_item(line: str) -> bool:
    return line.lstrip(" ").startswith("-") and line.lstrip(" ")[1:2] in ("", " ")


def _previous_item(lines: list[str], number: int) -> tuple[int, int] | None:
    """The nearest list item above line `number` that is indented differently from it (its line and indentation);
    None when an item in the same column, a line indented no deeper, or the key that opens its list comes first."""
    depth = len(lines[number - 1]) - len(lines[number - 1].lstrip(" "))
    between = False  # whether a line with content lies between the item found and line `number`
    for above in range(number - 2, -1, -1):
        text = lines[above]
        content = text.lstrip(" ")
        if not content or content.startswith("#"):
            continue
        indent = len(text) - len(content)
        if _is_item(text):
            opens_list = indent < depth and not between and text.split("#")[0].rstrip().endswith(":")
            return (above + 1, indent) if indent != depth and not opens_list else None
        if indent <= depth:
            return None
        between = True
    return None


class _TreeBuilder:
    def __init__(self, source: Source, limits: Limits) -> None:
        self.source = source
        self.limits = limits
        self.sink = ErrorSink()
        self.anchors: dict[str, Node] = {}
        self.open_anchors: set[str] = set()
        self.alias_count = 0
        self.depth = 0
        self.items = 0  # nodes read, keys included
        # Nodes of the document with every alias expanded, counted as events arrive: an alias adds the
        # size of its anchor's node. Below the alias cap, 16 aliases in a chain still make 2**16 copies.
        self.expanded = 0
        self.sizes: dict[str, int] = {}  # anchor -> expanded size of its node

    def span(self, event: yaml.Event) -> Span:
        start, end = _mark_span(self.source, event.start_mark), _mark_span(self.source, event.end_mark)
        return Span(self.source.name, start.line, start.col, end.line, end.col)

    def build(self, events: Iterator[yaml.Event]) -> Node | None:
        root: Node | None = None
        documents = 0
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise DslcError("E013", "a spec file holds one YAML document; found a second", self.span(event))
            elif isinstance(event, yaml.StreamEndEvent | yaml.StreamStartEvent | yaml.DocumentEndEvent):
                continue
            else:
                root = self.node(event, events)
        return root

    def count(self, event: yaml.Event) -> None:
        self.items += 1
        if self.items > self.limits.max_items:
            message = self.limits.exceeded("YAML node count", self.items, self.limits.max_items, "--max-items")
            raise DslcError("E017", message, self.span(event))

    def node(self, event: yaml.Event, events: Iterator[yaml.Event]) -> Node:
        self.count(event)
        if isinstance(event, yaml.AliasEvent):
            return self.alias(event)
        if not isinstance(event, yaml.CollectionStartEvent | yaml.ScalarEvent):  # pragma: no cover - the parser
            raise DslcError("E010", "unexpected YAML event", self.span(event))   # guarantees node events here
        if event.tag is not None:
            raise DslcError("E011", f"YAML tag '{event.tag}' is not allowed", self.span(event),
                            hint="a spec is data: remove the tag")
        first = self.expanded
        self.expanded += 1
        if isinstance(event, yaml.ScalarEvent):
            node: Node = self.scalar(event)
        elif isinstance(event, yaml.SequenceStartEvent):
            node = self.collection(event, events, self.sequence)
        else:
            node = self.collection(event, events, self.mapping)
        if event.anchor is not None:
            self.anchors[event.anchor] = node
            self.sizes[event.anchor] = self.expanded - first
        return node

    def collection(self, event, events, read) -> Node:
        self.depth += 1
        if self.depth > self.limits.max_depth:
            message = self.limits.exceeded("nesting depth", self.depth, self.limits.max_depth, "--max-depth")
            raise DslcError("E005", message, self.span(event))
        if event.anchor is not None:
            self.open_anchors.add(event.anchor)
        node = read(event, events)
        if event.anchor is not None:
            self.open_anchors.discard(event.anchor)
        self.depth -= 1
        return node

    def alias(self, event: yaml.AliasEvent) -> Node:
        anchor = event.anchor or ""  # the parser gives every alias an anchor name
        self.alias_count += 1
        if self.alias_count > self.limits.max_aliases:
            message = self.limits.exceeded("alias count", self.alias_count, self.limits.max_aliases, "--max-aliases")
            raise DslcError("E006", message, self.span(event))
        if anchor in self.open_anchors:
            raise DslcError("E015", f"alias '*{anchor}' refers to a node that contains it", self.span(event))
        target = self.anchors.get(anchor)
        if target is None:
            raise DslcError("E015", f"alias '*{anchor}' refers to no anchor", self.span(event))
        self.expanded += self.sizes[anchor]
        budget = self.limits.max_bytes  # no more nodes than a file within the byte budget could spell out
        if self.expanded > budget:
            raise DslcError("E006", f"aliases expand the document beyond {budget:,} nodes, more than a file within "
                                    "the byte budget can spell out (raise it with --max-bytes)", self.span(event),
                            hint="write the repeated parts out, or use a block")
        return target

    def scalar(self, event: yaml.ScalarEvent) -> Scalar:
        span = self.span(event)
        if not event.implicit[0]:  # quoted or block scalars are always strings
            if _SURROGATE.search(event.value):
                self.sink.add(DslcError("E205", "a string holds a lone surrogate escape (\\uD800-\\uDFFF)", span,
                                        hint="escape the character itself, e.g. \\U0001F600"))
            return Scalar(event.value, span, quoted=True)
        return Scalar(self.resolve(event.value, span), span)

    def resolve(self, text: str, span: Span):
        if _NULL.match(text):
            return None
        if text in _BOOL:
            return _BOOL[text]
        if text in _SPECIAL_FLOAT or text.lstrip("+-") in _SPECIAL_FLOAT:
            value = _SPECIAL_FLOAT[text.lstrip("+-")]
            return -value if text.startswith("-") else value
        is_int = bool(_DECIMAL.match(text) or _HEX_OCT.match(text))
        if not (is_int or _FLOAT.match(text)):
            return text
        digits = sum(ch.isalnum() for ch in text) if len(text) > self.limits.max_number_digits else 0
        if digits > self.limits.max_number_digits:
            self.sink.add(DslcError("E205", f"number literal has {digits} digits "
                                    f"(at most {self.limits.max_number_digits})", span))
            return None
        if _DECIMAL.match(text):
            return int(text.replace("_", ""))
        return int(text, 0) if is_int else float(text.replace("_", ""))

    def sequence(self, start: yaml.SequenceStartEvent, events) -> Seq:
        items: list[Node] = []
        for event in events:
            if isinstance(event, yaml.SequenceEndEvent):
                return Seq(tuple(items), _join(self.span(start), self.span(event)))
            items.append(self.node(event, events))
        raise DslcError("E010", "YAML syntax error: unterminated list", self.span(start))  # pragma: no cover

    def mapping(self, start: yaml.MappingStartEvent, events) -> Map:
        entries: list[Entry] = []
        seen: dict[str, Span] = {}
        for event in events:
            if isinstance(event, yaml.MappingEndEvent):
                return Map(tuple(entries), _join(self.span(start), self.span(event)))
            self.count(event)
            key_span = self.span(event)
            if getattr(event, "tag", None) is not None:
                raise DslcError("E011", f"YAML tag '{event.tag}' is not allowed", key_span,
                                hint="a spec is data: remove the tag")
            if not isinstance(event, yaml.ScalarEvent):
                raise DslcError("E103", "a mapping key must be a plain name", key_span)
            key = event.value
            if key == "<<" and event.implicit[0]:
                raise DslcError("E015", "YAML merge keys ('<<') are not supported", key_span,
                                hint="write the keys out")
            value = self.node(next(events), events)
            if key in seen:
                self.sink.add(DslcError("E012", f"duplicate key '{key}'", key_span,
                                        hint="YAML would silently keep only the last one",
                                        related=(("first defined here", seen[key]),)))
                continue
            seen[key] = key_span
            entries.append(Entry(key, key_span, value))
        raise DslcError("E010", "YAML syntax error: unterminated mapping", self.span(start))  # pragma: no cover


def _join(start: Span, end: Span) -> Span:
    return Span(start.file, start.line, start.col, end.end_line, end.end_col)
