"""The located document tree: what both front ends produce and the lowering reads.

A spec document is a tree of `Map`, `Seq` and `Scalar` nodes, each with the
`Span` of the text it came from. The YAML front end builds it from parser
events, the DSL front end from its parse tree; everything after that point is
shared, so both syntaxes mean the same thing and report errors the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from dslc.spec.errors import Span

ScalarValue = str | int | float | bool | None
# Map keys are names; the DSL also produces positional arguments, keyed by their index.
Key = str | int


@dataclass(frozen=True)
class Scalar:
    value: ScalarValue
    span: Span
    quoted: bool = False  # a quoted string is never a `$param` reference

    @property
    def ref(self) -> str | None:
        """The block parameter name when this scalar is a `$name` reference."""
        if isinstance(self.value, str) and not self.quoted and self.value.startswith("$"):
            return self.value[1:]
        return None


@dataclass(frozen=True)
class Seq:
    items: tuple[Node, ...]
    span: Span


@dataclass(frozen=True)
class Entry:
    key: Key
    key_span: Span
    value: Node


@dataclass(frozen=True)
class Map:
    entries: tuple[Entry, ...]
    span: Span

    def get(self, key: Key) -> Entry | None:
        for entry in self.entries:
            if entry.key == key:
                return entry
        return None

    def keys(self) -> list[Key]:
        return [entry.key for entry in self.entries]

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)


Node = Scalar | Seq | Map


def node_kind(node: Node) -> str:
    """A user-facing word for the node's kind, for messages."""
    if isinstance(node, Map):
        return "a mapping"
    if isinstance(node, Seq):
        return "a list"
    if node.value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}[type(node.value)]


def to_plain(node: Node) -> object:
    """The node as plain Python data: lists become tuples (pydantic strict mode wants tuples)."""
    if isinstance(node, Scalar):
        return node.value
    if isinstance(node, Seq):
        return tuple(to_plain(item) for item in node.items)
    return {entry.key: to_plain(entry.value) for entry in node.entries}


def locate(node: Node, path: tuple[Key, ...]) -> tuple[Node, bool]:
    """Follow `path` as far as it goes; return the node reached and whether the whole path was found."""
    for step in path:
        if isinstance(node, Map):
            entry = node.get(step)
            if entry is None:
                return node, False
            node = entry.value
        elif isinstance(node, Seq) and isinstance(step, int) and 0 <= step < len(node.items):
            node = node.items[step]
        else:
            return node, False
    return node, True
