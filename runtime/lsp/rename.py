"""Rename of a layer name or model input (with its `from`, `tied_to` and `outputs` references), a block name
(with its calls) or a block parameter (with its `$` references and its calls' keyword arguments).

It reads the source map of the document's current text, so a rename is refused while the text is broken.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dslc.runtime.lsp.names import Symbol, occurrences, spans_of, step_names, symbol_at
from dslc.runtime.lsp.positions import span_text
from dslc.spec.errors import Span
from dslc.spec.layers import REGISTRY
from dslc.spec.load import LoadedSpec

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # what both syntaxes read as a name without quoting


class RenameRefused(Exception):
    """Why the name at the cursor cannot be renamed (to the new name)."""


def rename(loaded: LoadedSpec, lines: Sequence[str], line: int, col: int, new_name: str) -> list[Span]:
    """Every span to rewrite as `new_name`, for the name at the 1-based line and character column."""
    found = occurrences(loaded)
    symbol = symbol_at(found, line, col)
    if symbol is None:
        raise RenameRefused("only the name of a layer, a model input, a block or a block parameter can be renamed")
    if not _NAME.match(new_name):
        raise RenameRefused(f"'{new_name}' is not a name (a letter or '_', then letters, digits or '_')")
    if new_name in _taken(loaded, symbol):
        raise RenameRefused(f"'{new_name}' is already a name here")
    spans = spans_of(found, symbol)
    if any(span_text(lines, span) != symbol[-1] for span in spans):  # a quoted name: its span is not the bare name
        raise RenameRefused(f"'{symbol[-1]}' is written quoted somewhere; rename it by hand")
    return spans


def _taken(loaded: LoadedSpec, symbol: Symbol) -> set[str]:
    """The names a renamed symbol would collide with: its graph's names, the block's parameters, or the blocks
    and layer kinds."""
    spec = loaded.spec
    if symbol[0] == "block":
        return {block.name for block in spec.blocks} | set(REGISTRY)
    if symbol[0] == "param":
        return {param.name for param in spec.blocks[int(symbol[1])].params}
    if symbol[1] == "model":
        return step_names(spec.model.layers) | {model_input.name for model_input in spec.model.inputs}
    block = spec.blocks[int(symbol[1].split("/")[1])]
    return step_names(block.layers) | {param.name for param in block.params} | {"input"}
