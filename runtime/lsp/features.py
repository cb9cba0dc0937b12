"""The answer to each editor request, built from a document's findings or its last valid analysis."""

from __future__ import annotations

import re
from collections.abc import Sequence

from lsprotocol import types

from dslc.compiler.analysis.model import LayerReport
from dslc.compiler.analysis.render import number, shape_text
from dslc.runtime.lsp.analysis import Valid
from dslc.runtime.lsp.positions import to_range, utf16_length
from dslc.spec.errors import DslcError, Span
from dslc.spec.ir import BlockCall, LayerCall, Step
from dslc.spec.sourcemap import IRPath, SourceMap

MAX_INSTANCES = 8  # a block line's hover lists this many instances, then counts the others
MAX_HINT_SHAPES = 3
_DID_YOU_MEAN = re.compile(r"\nhint: did you mean '([^'\s]+)'\?")  # in a diagnostic's message: a one-word fix
_SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning}


def diagnostics(findings: Sequence[DslcError], uri: str, lines: Sequence[str]) -> list[types.Diagnostic]:
    """Every finding as `dslc check` prints it: code, message, the hint appended, related notes as related places."""
    return [types.Diagnostic(
        range=to_range(finding.span, lines),
        message=finding.message + (f"\nhint: {finding.hint}" if finding.hint else ""),
        severity=_SEVERITY[finding.level],
        code=finding.code,
        source="dslc",
        related_information=[types.DiagnosticRelatedInformation(types.Location(uri, to_range(span, lines)), note)
                             for note, span in finding.related] or None,
    ) for finding in findings]


def quick_fixes(uri: str, diagnostics: Sequence[types.Diagnostic]) -> list[types.CodeAction]:
    """A fix for each diagnostic whose hint suggests a name: the name replaces the diagnostic's range."""
    actions = []
    for diagnostic in diagnostics:
        suggestion = _DID_YOU_MEAN.search(diagnostic.message)
        if diagnostic.source != "dslc" or suggestion is None:
            continue
        edit = types.WorkspaceEdit(changes={uri: [types.TextEdit(diagnostic.range, suggestion.group(1))]})
        actions.append(types.CodeAction(f"Change to '{suggestion.group(1)}'", kind=types.CodeActionKind.QuickFix,
                                        diagnostics=[diagnostic], edit=edit, is_preferred=True))
    return actions


def layers_on(valid: Valid, line: int) -> list[LayerReport]:
    """The layers written on a 1-based line: one, or every instance of a block's layer."""
    return [layer for layer in valid.analysis.layers if layer.span.line == line]


def hover(valid: Valid, line: int) -> str | None:
    """Markdown for the 1-based line: the model's totals and depth verdict on its name, a layer's facts on its line."""
    name = valid.loaded.source_map.value(("model", "name"))
    if name is not None and name.line == line:
        return _model_hover(valid)
    layers = layers_on(valid, line)
    if not layers:
        return None
    if len(layers) == 1:
        layer = layers[0]
        return (f"**{layer.name}** ({layer.kind})\n\noutput `{shape_text(layer.output)}` · "
                f"{number(layer.params)} params · {number(layer.flops)} FLOPs")
    rows = [f"- `{layer.name}`: `{shape_text(layer.output)}`, {number(layer.params)} params, "
            f"{number(layer.flops)} FLOPs" for layer in layers[:MAX_INSTANCES]]
    if len(layers) > MAX_INSTANCES:
        rows.append(f"- and {len(layers) - MAX_INSTANCES} more")
    return f"**{layers[0].kind}** in {len(layers)} block instances\n\n" + "\n".join(rows)


def _model_hover(valid: Valid) -> str:
    analysis = valid.analysis
    totals = analysis.totals
    return (f"**model {analysis.model}**: {len(analysis.layers)} layers, {number(totals.params)} params "
            f"({number(totals.trainable)} trainable, {number(totals.frozen)} frozen, "
            f"{number(totals.state)} batch statistics), {number(totals.flops)} FLOPs per example\n\n"
            f"{analysis.depth.sentence}")


def inlay_hints(valid: Valid, lines: Sequence[str]) -> list[types.InlayHint]:
    """The output shape at the end of every layer line (a block's line: each instance's, when they differ)."""
    shapes: dict[int, list[str]] = {}
    for layer in valid.analysis.layers:
        shown = shapes.setdefault(layer.span.line, [])
        text = shape_text(layer.output)
        if text not in shown:
            shown.append(text)
    hints = []
    for line, texts in sorted(shapes.items()):
        if line > len(lines):  # the last valid analysis of a document that has lost lines since
            continue
        label = " | ".join(texts[:MAX_HINT_SHAPES]) + (" | …" if len(texts) > MAX_HINT_SHAPES else "")
        end = types.Position(line - 1, utf16_length(lines[line - 1].rstrip()))
        hints.append(types.InlayHint(end, f"→ {label}", kind=types.InlayHintKind.Type, padding_left=True))
    return hints


def symbols(valid: Valid, lines: Sequence[str]) -> list[types.DocumentSymbol]:
    """The model with its layers, and each block with its layers."""
    spec, source_map = valid.loaded.spec, valid.loaded.source_map
    result = [_symbol(source_map, lines, ("blocks", index), block.name, types.SymbolKind.Class,
                      _steps(source_map, lines, ("blocks", index, "layers"), block.layers))
              for index, block in enumerate(spec.blocks)]
    model = _symbol(source_map, lines, ("model",), spec.model.name, types.SymbolKind.Module,
                    _steps(source_map, lines, ("model", "layers"), spec.model.layers), ("model", "name"))
    return [*result, model]


def _steps(source_map: SourceMap, lines: Sequence[str], path: IRPath,
           steps: Sequence[Step]) -> list[types.DocumentSymbol]:
    result = []
    for index, step in enumerate(steps):
        kind = step.kind if isinstance(step, LayerCall) else step.block
        name = f"{step.name}: {kind}" if step.name else kind
        symbol_kind = types.SymbolKind.Function if isinstance(step, LayerCall) else types.SymbolKind.Object
        result.append(_symbol(source_map, lines, (*path, index), name, symbol_kind, []))
    return result


def _symbol(source_map: SourceMap, lines: Sequence[str], path: IRPath, name: str, kind: types.SymbolKind,
            children: list[types.DocumentSymbol], selection: IRPath | None = None) -> types.DocumentSymbol:
    located = source_map.get(path)
    value = located.value if located else source_map.nearest(path)
    start = located.key if located and located.key else value
    whole = Span(value.file, start.line, start.col, value.end_line, value.end_col)
    chosen = source_map.key_or_value(selection or path)
    return types.DocumentSymbol(name=name, kind=kind, range=to_range(whole, lines),
                                selection_range=to_range(chosen, lines), children=children)


def block_definition(valid: Valid, line: int, col: int) -> Span | None:
    """Where the block called at the 1-based line and column is defined (its name in `blocks`)."""
    spec, source_map = valid.loaded.spec, valid.loaded.source_map
    calls: list[tuple[IRPath, Step]] = [(("model", "layers", index), step)
                                        for index, step in enumerate(spec.model.layers)]
    for block_index, block in enumerate(spec.blocks):
        calls += [(("blocks", block_index, "layers", index), step) for index, step in enumerate(block.layers)]
    for path, step in calls:
        key = source_map.key_or_value(path)
        if isinstance(step, BlockCall) and key.line == line and key.col <= col <= (key.end_col or key.col):
            index = next(i for i, block in enumerate(spec.blocks) if block.name == step.block)
            return source_map.key_or_value(("blocks", index))
    return None


def whole_document(lines: Sequence[str]) -> types.Range:
    """`lines` split at each line break, so the last one is what follows the last break."""
    return types.Range(types.Position(0, 0), types.Position(len(lines) - 1, utf16_length(lines[-1])))
