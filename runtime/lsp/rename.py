"""Rename of a layer name (its definition, `from:`, `tied_to:` and `outputs:` references) or of a block name.

Both read the source map of the document's current text, so a rename is refused while the text is broken.
Layer names are local to their graph (the model, or one block); block names are global.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from dslc.spec.errors import Span
from dslc.spec.ir import BlockCall, LayerCall, Step
from dslc.spec.layers import REGISTRY
from dslc.spec.load import LoadedSpec
from dslc.spec.sourcemap import IRPath, SourceMap

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # what both syntaxes read as a name without quoting
Symbol = tuple[str, ...]  # ("layer", graph, name) or ("block", name)


class RenameRefused(Exception):
    """Why the name at the cursor cannot be renamed (to the new name)."""


def rename(loaded: LoadedSpec, lines: Sequence[str], line: int, col: int, new_name: str) -> list[Span]:
    """Every span to rewrite as `new_name`, for the name at the 1-based line and character column."""
    occurrences = list(_occurrences(loaded))
    symbol = next((symbol for symbol, span in occurrences if _contains(span, line, col)), None)
    if symbol is None:
        raise RenameRefused("only a layer's name or a block's name can be renamed")
    if not _NAME.match(new_name):
        raise RenameRefused(f"'{new_name}' is not a name (a letter or '_', then letters, digits or '_')")
    if new_name in _taken(loaded, symbol):
        raise RenameRefused(f"'{new_name}' is already a name here")
    spans = [span for other, span in occurrences if other == symbol]
    if any(_text(lines, span) != symbol[-1] for span in spans):  # a quoted name: its span is not the bare name
        raise RenameRefused(f"'{symbol[-1]}' is written quoted somewhere; rename it by hand")
    return spans


def _occurrences(loaded: LoadedSpec) -> Iterator[tuple[Symbol, Span]]:
    spec, source_map = loaded.spec, loaded.source_map
    graphs: list[tuple[IRPath, Sequence[Step]]] = [(("model",), spec.model.layers)]
    graphs += [(("blocks", index), block.layers) for index, block in enumerate(spec.blocks)]
    for graph, steps in graphs:
        yield from _layer_occurrences(source_map, graph, steps, _step_names(steps))
    for index, block in enumerate(spec.blocks):
        if (key := source_map.key(("blocks", index))) is not None:
            yield ("block", block.name), key
    outputs = spec.model.outputs or ()
    yield from ((("layer", "model", name), span) for name, span in
                _listed(source_map, ("model", "outputs"), outputs) if name in _step_names(spec.model.layers))


def _layer_occurrences(source_map: SourceMap, graph: IRPath, steps: Sequence[Step],
                       names: set[str]) -> Iterator[tuple[Symbol, Span]]:
    """A graph's layer names and their references, and its calls of blocks."""
    scope = "/".join(map(str, graph))
    for index, step in enumerate(steps):
        path = (*graph, "layers", index)
        if step.name and (span := source_map.value((*path, "name"))) is not None:
            yield ("layer", scope, step.name), span
        for name, span in _listed(source_map, (*path, "from"), step.inputs or ()):
            if name in names:
                yield ("layer", scope, name), span
        tied = step.params.get("tied_to") if isinstance(step, LayerCall) else None
        if isinstance(tied, str) and tied in names and (span := source_map.value((*path, "tied_to"))) is not None:
            yield ("layer", scope, tied), span
        if isinstance(step, BlockCall) and (span := source_map.key(path)) is not None:
            yield ("block", step.block), span


def _listed(source_map: SourceMap, path: IRPath, names: Sequence[str]) -> Iterator[tuple[str, Span]]:
    """The spans of a field that holds one name or a list of names."""
    for index, name in enumerate(names):
        span = source_map.value((*path, index)) or (source_map.value(path) if len(names) == 1 else None)
        if span is not None:
            yield name, span


def _step_names(steps: Sequence[Step]) -> set[str]:
    return {step.name for step in steps if step.name}


def _taken(loaded: LoadedSpec, symbol: Symbol) -> set[str]:
    """The names a renamed symbol would collide with: its graph's names, or the blocks and layer kinds."""
    spec = loaded.spec
    if symbol[0] == "block":
        return {block.name for block in spec.blocks} | set(REGISTRY)
    if symbol[1] == "model":
        return _step_names(spec.model.layers) | {model_input.name for model_input in spec.model.inputs}
    block = spec.blocks[int(symbol[1].split("/")[1])]
    return _step_names(block.layers) | {param.name for param in block.params} | {"input"}


def _contains(span: Span, line: int, col: int) -> bool:
    return span.line == line and span.col <= col <= (span.end_col or span.col)


def _text(lines: Sequence[str], span: Span) -> str:
    text = lines[span.line - 1] if span.line <= len(lines) else ""
    return text[span.col - 1:(span.end_col or span.col) - 1] if span.end_line == span.line else ""
