"""What a lint rule is, and what every rule reads: the loaded spec, its analysis and the graph's edges.

A rule is a function over a `LintContext` that yields warnings (`DslcError`s of
level "warning", stage "lint"). Each rule is one `Rule` entry of the registry
(`dslc.compiler.lint.registry.RULES`): its code and check; its one-line summary
is the catalogue's (`dslc.spec.codes.CODES`), its name and its bad and good
examples are `dslc.spec.lint_examples.LINT_EXAMPLES`' (the reference shows them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from dslc.compiler.analysis.model import Analysis, LayerReport
from dslc.spec.codes import CODES
from dslc.spec.errors import DslcError, Span
from dslc.spec.expand import GraphNode
from dslc.spec.layers.base import NodeClass, Tensor
from dslc.spec.lint_examples import LINT_EXAMPLES, LintExample
from dslc.spec.load import LoadedSpec


@dataclass(frozen=True)
class LintContext:
    loaded: LoadedSpec
    analysis: Analysis
    folder: Path | None = None  # the spec's folder (data paths are relative to it); None for a text without one

    @cached_property
    def nodes(self) -> dict[str, GraphNode]:
        return {node.name: node for node in self.loaded.graph.nodes}

    @cached_property
    def reports(self) -> dict[str, LayerReport]:
        return {layer.name: layer for layer in self.analysis.layers}

    @cached_property
    def consumers(self) -> dict[str, list[str]]:
        """Each layer's or model input's readers, in graph order (a tied head reads its embedding's table)."""
        readers: dict[str, list[str]] = {name: [] for name, _ in self.analysis.inputs}
        for layer in self.analysis.layers:
            readers.setdefault(layer.name, [])
            tied = self.nodes[layer.name].tied_to
            for name in (*layer.inputs, *([tied] if tied else [])):
                readers.setdefault(name, []).append(layer.name)
        return readers

    def tensor(self, name: str) -> Tensor:
        """The output of a layer, or a model input."""
        layer = self.reports.get(name)
        return layer.output if layer is not None else dict(self.analysis.inputs)[name]

    def first_after(self, test: Callable[[LayerReport], bool]) -> dict[str, str | None]:
        """For each layer, a layer after it (reading its output, directly or through others) that passes `test`,
        or None. One pass over the graph in reverse order: linear in its size, whatever its shape."""
        found: dict[str, str | None] = {}
        for layer in reversed(self.analysis.layers):
            found[layer.name] = None
            for name in self.consumers[layer.name]:
                hit = name if test(self.reports[name]) else found[name]
                if hit is not None:
                    found[layer.name] = hit
                    break
        return found

    def argument_span(self, node: GraphNode, param: str) -> Span:
        """Where a parameter was written (a block argument's position when it came from one), else the layer."""
        return node.argument_spans.get(param, node.span)


def is_weighted(layer: LayerReport) -> bool:
    return NodeClass.W in layer.classes


def warning(code: str, message: str, span: Span, hint: str | None = None,
            related: tuple[tuple[str, Span], ...] = ()) -> DslcError:
    return DslcError(code, message, span, hint=hint, stage="lint", related=related, level="warning")


Check = Callable[[LintContext], Iterable[DslcError]]


@dataclass(frozen=True)
class Rule:
    code: str
    check: Check = field(repr=False)

    @property
    def summary(self) -> str:
        return CODES[self.code]

    @property
    def example(self) -> LintExample:
        """Its name, a spec it flags (`bad`) and the spec fixed (`good`)."""
        return LINT_EXAMPLES[self.code]
