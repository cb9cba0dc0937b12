"""Text edits that fix a lint warning, where the rule has one fix that is always right.

- W105 (a bias before a batch norm): `use_bias` becomes false, written where it was or added to the call.
- W102 (a layer with no effect) and W106 (dropout after the last weighted layer): the step is removed, when it is
  unnamed (nothing can refer to it) and alone on its lines.

Fixes are computed on the document's current text, from the warning's span; anything unusual (a step sharing its
line, a multi-line call) gets no fix rather than a guess.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from dslc.runtime.lsp.positions import span_text
from dslc.spec.errors import DslcError, Span
from dslc.spec.ir import Step
from dslc.spec.load import LoadedSpec
from dslc.spec.sourcemap import IRPath

_NO_BIAS = "Set use_bias to false"
_REMOVABLE = {"W102": "Remove the layer", "W106": "Remove the dropout"}
# What may surround a removable step on its line: indentation, YAML's `- `, a trailing comment.
_STEP_LINE = re.compile(r"^\s*(?:-\s+)?$")
_TRAILER = re.compile(r"^\s*(?:#.*)?$")


@dataclass(frozen=True)
class Fix:
    title: str
    edits: tuple[tuple[Span, str], ...]  # (span to replace, new text); an empty span inserts


def fix_for(warning: DslcError, lines: Sequence[str], loaded: LoadedSpec) -> Fix | None:
    """The fix of a lint warning on the spec `loaded` from the document's `lines`, or None."""
    if warning.code not in ("W105", *_REMOVABLE) or warning.span is None:
        return None
    if warning.code == "W105" and span_text(lines, warning.span) == "true":
        return Fix(_NO_BIAS, ((warning.span, "false"),))  # `use_bias` written as true: the span is its value
    found = _step_at(loaded, warning.span)
    if found is None:
        return None
    step, whole = found
    if whole.end_line != whole.line or whole.line > len(lines) or whole.end_col is None:
        return None
    if warning.code == "W105":
        closing, argument = (")", ", use_bias=false") if loaded.syntax == "dsl" else ("}", ", use_bias: false")
        if not span_text(lines, whole).endswith(closing):
            return None
        end = Span(whole.file, whole.line, whole.end_col - 1, whole.line, whole.end_col - 1)
        return Fix(_NO_BIAS, ((end, argument),))
    text = lines[whole.line - 1]
    alone = _STEP_LINE.match(text[:whole.col - 1]) and _TRAILER.match(text[whole.end_col - 1:])
    if step.name is None and alone:  # a named step may be referred to; one sharing its line is not ours to drop
        return Fix(_REMOVABLE[warning.code], ((Span(whole.file, whole.line, 1, whole.line + 1, 1), ""),))
    return None


def _step_at(loaded: LoadedSpec, span: Span) -> tuple[Step, Span] | None:
    """The step whose kind is written at `span` (a layer's span), and where the whole step is written."""
    spec, source_map = loaded.spec, loaded.source_map
    graphs: list[tuple[IRPath, Sequence[Step]]] = [(("model",), spec.model.layers)]
    graphs += [(("blocks", index), block.layers) for index, block in enumerate(spec.blocks)]
    for graph, steps in graphs:
        for index, step in enumerate(steps):
            located = source_map.get((*graph, "layers", index))
            if located is not None and located.key == span:
                value = located.value
                return step, Span(span.file, span.line, span.col, value.end_line, value.end_col)
    return None
