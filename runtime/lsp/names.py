"""Every place a spec names something the editor can follow: layers (and model inputs), blocks, block parameters.

One index serves go to definition, references, highlights and rename. Layer names are local to their graph (the
model, or one block), block names are global, and a block's parameters are local to it: its `$name` references
and the keyword arguments of its calls.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from dslc.spec.errors import Span
from dslc.spec.ir import BlockCall, LayerCall, Ref, Step, Value
from dslc.spec.load import LoadedSpec
from dslc.spec.sourcemap import IRPath, SourceMap

Symbol = tuple[str, ...]  # ("layer", graph, name), ("block", name) or ("param", block index, name)


@dataclass(frozen=True)
class Occurrence:
    symbol: Symbol
    span: Span  # the name itself
    definition: bool


def occurrences(loaded: LoadedSpec) -> list[Occurrence]:
    """Every occurrence of every name in the spec, definitions first within each graph."""
    return list(_all(loaded))


def symbol_at(found: Sequence[Occurrence], line: int, col: int) -> Symbol | None:
    """The symbol whose occurrence holds the 1-based line and character column."""
    return next((occurrence.symbol for occurrence in found if _contains(occurrence.span, line, col)), None)


def spans_of(found: Sequence[Occurrence], symbol: Symbol, definitions: bool = True) -> list[Span]:
    return [o.span for o in found if o.symbol == symbol and (definitions or not o.definition)]


def definition_of(found: Sequence[Occurrence], symbol: Symbol) -> Span | None:
    return next((o.span for o in found if o.symbol == symbol and o.definition), None)


def step_names(steps: Sequence[Step]) -> set[str]:
    return {step.name for step in steps if step.name}


def _all(loaded: LoadedSpec) -> Iterator[Occurrence]:
    spec, source_map = loaded.spec, loaded.source_map
    for index, model_input in enumerate(spec.model.inputs):
        if (key := source_map.key(("model", "inputs", index))) is not None:
            yield Occurrence(("layer", "model", model_input.name), key, True)
    model_names = step_names(spec.model.layers) | {model_input.name for model_input in spec.model.inputs}
    yield from _graph(loaded, ("model",), spec.model.layers, model_names)
    for index, block in enumerate(spec.blocks):
        if (key := source_map.key(("blocks", index))) is not None:
            yield Occurrence(("block", block.name), key, True)
        for param_index, param in enumerate(block.params):
            if (key := source_map.key(("blocks", index, "params", param_index))) is not None:
                yield Occurrence(("param", str(index), param.name), key, True)
        yield from _graph(loaded, ("blocks", index), block.layers, step_names(block.layers))
    for name, span in _listed(source_map, ("model", "outputs"), spec.model.outputs or ()):
        if name in model_names:
            yield Occurrence(("layer", "model", name), span, False)


def _graph(loaded: LoadedSpec, graph: IRPath, steps: Sequence[Step], names: set[str]) -> Iterator[Occurrence]:
    """A graph's layer names and their references, its calls of blocks, and (in a block) its `$parameters`."""
    source_map, blocks = loaded.source_map, loaded.spec.blocks
    scope = "/".join(map(str, graph))
    block_index = str(graph[1]) if graph[0] == "blocks" else None
    for index, step in enumerate(steps):
        path = (*graph, "layers", index)
        if step.name and (span := source_map.value((*path, "name"))) is not None:
            yield Occurrence(("layer", scope, step.name), span, True)
        for name, span in _listed(source_map, (*path, "from"), step.inputs or ()):
            if name in names:
                yield Occurrence(("layer", scope, name), span, False)
        arguments = step.params if isinstance(step, LayerCall) else step.args
        tied = arguments.get("tied_to")
        if isinstance(tied, str) and tied in names and (span := source_map.value((*path, "tied_to"))) is not None:
            yield Occurrence(("layer", scope, tied), span, False)
        if block_index is not None:
            for name, value in arguments.items():
                for ref, span in _refs(source_map, (*path, name), value):
                    yield Occurrence(("param", block_index, ref), span, False)
        if isinstance(step, BlockCall):
            if (span := source_map.key(path)) is not None:
                yield Occurrence(("block", step.block), span, False)
            called = next(i for i, block in enumerate(blocks) if block.name == step.block)
            for name in step.args:
                located = source_map.get((*path, name))
                if located is not None and located.key is not None and located.key != located.value:
                    yield Occurrence(("param", str(called), name), located.key, False)  # a keyword argument


def _refs(source_map: SourceMap, path: IRPath, value: Value) -> Iterator[tuple[str, Span]]:
    """The `$name` references in an argument's value (nested lists too), each span without its `$`."""
    if isinstance(value, Ref):
        span = source_map.value(path)
        if span is not None and span.end_line == span.line and span.end_col == span.col + len(value.name) + 1:
            yield value.name, Span(span.file, span.line, span.col + 1, span.end_line, span.end_col)
    elif isinstance(value, tuple):
        for index, item in enumerate(value):
            yield from _refs(source_map, (*path, index), item)


def _listed(source_map: SourceMap, path: IRPath, names: Sequence[str]) -> Iterator[tuple[str, Span]]:
    """The spans of a field that holds one name or a list of names."""
    for index, name in enumerate(names):
        span = source_map.value((*path, index)) or (source_map.value(path) if len(names) == 1 else None)
        if span is not None:
            yield name, span


def _contains(span: Span, line: int, col: int) -> bool:
    return span.line == line and span.col <= col <= (span.end_col or span.col)
