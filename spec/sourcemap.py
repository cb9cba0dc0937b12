"""Where each part of the IR was written: IR path -> key span and value span.

The IR holds no positions (two syntaxes give equal IRs). The lowering records,
beside it, a `SourceMap` from IR paths to the text they came from, so later
stages locate their findings without the document tree and without parsing
the file again. A path names IR fields and tuple indices:

    ("model", "layers", 3)                  a step: key = its kind, value = its arguments
    ("model", "layers", 3, "units")         a parameter (an argument of a block call alike)
    ("model", "layers", 3, "from", 0)       a name in `from`
    ("blocks", 0, "layers", 1, "rate")      inside a block definition
    ("blocks", 0, "params", 2)              a block parameter: key = its name, value = its default
    ("train", "optimizer")                  a choice: key = `optimizer`, value = the choice as written
    ("train", "optimizer", "kind")          the choice's name
    ("train", "optimizer", "lr", "kind")    a nested choice (a schedule)
    ("train", "metrics", 0, "k")            positional arguments (DSL) are recorded under their names
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dslc.spec.errors import Span
from dslc.spec.tree import Map, Node, Seq

PathStep = str | int
IRPath = tuple[PathStep, ...]


@dataclass(frozen=True)
class Located:
    """The span of a value and, where it sits under a key, of that key."""

    value: Span
    key: Span | None = None


@dataclass
class SourceMap:
    file: str
    spans: dict[IRPath, Located] = field(default_factory=dict)

    def record(self, path: IRPath, value: Span, key: Span | None = None) -> None:
        self.spans[path] = Located(value, key)

    def record_tree(self, path: IRPath, node: Node, key: Span | None = None) -> None:
        """`node` at `path`, and everything inside it (list items by index, mapping entries by key)."""
        self.record(path, node.span, key)
        if isinstance(node, Seq):
            for index, item in enumerate(node.items):
                self.record_tree((*path, index), item)
        elif isinstance(node, Map):
            for entry in node:
                self.record_tree((*path, entry.key), entry.value, entry.key_span)

    def get(self, path: IRPath) -> Located | None:
        return self.spans.get(path)

    def value(self, path: IRPath) -> Span | None:
        located = self.spans.get(path)
        return located.value if located else None

    def key(self, path: IRPath) -> Span | None:
        located = self.spans.get(path)
        return located.key if located else None

    def nearest(self, path: IRPath) -> Span:
        """The value span of `path`, or of its closest recorded ancestor (the file's start at worst)."""
        for end in range(len(path), 0, -1):
            located = self.spans.get(path[:end])
            if located is not None:
                return located.value
        return Span(self.file, 1, 1)

    def key_or_value(self, path: IRPath) -> Span:
        """Where to point at a whole item: its key when it has one, else its value."""
        located = self.spans.get(path)
        if located is None:
            return self.nearest(path)
        return located.key or located.value
