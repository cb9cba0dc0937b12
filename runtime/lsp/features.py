"""The answer to each editor request, built from a document's findings or its last valid analysis."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from lsprotocol import types

from dslc.compiler.analysis.model import LayerReport
from dslc.compiler.analysis.render import number, shape_text
from dslc.runtime.lsp.analysis import Valid
from dslc.runtime.lsp.fixes import Fix
from dslc.runtime.lsp.links import CodeLinks
from dslc.runtime.lsp.names import definition_of, occurrences, spans_of, symbol_at
from dslc.runtime.lsp.positions import to_range, utf16_length
from dslc.spec.errors import DslcError, Span
from dslc.spec.expand import CallSites
from dslc.spec.ir import LayerCall, Step
from dslc.spec.layers import REGISTRY
from dslc.spec.layers.base import NodeClass
from dslc.spec.sourcemap import IRPath, SourceMap

MAX_INSTANCES = 8  # a block line's hover lists this many instances, then counts the others
MAX_HINT_SHAPES = 3
_DID_YOU_MEAN = re.compile(r"\nhint: did you mean '([^'\s]+)'\?")  # in a diagnostic's message: a one-word fix
_SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning}


def diagnostics(findings: Sequence[DslcError], uri: str, lines: Sequence[str], links: CodeLinks,
                fixes: Mapping[DslcError, Fix | None]) -> list[types.Diagnostic]:
    """Every finding as `dslc check` prints it: code (linked to its documentation), message, the hint appended,
    related notes as related places; a lint fix rides along in `data` for the code action."""
    result = []
    for finding in findings:
        href = links.href(finding.code)
        fix = fixes.get(finding)
        result.append(types.Diagnostic(
            range=to_range(finding.span, lines),
            message=finding.message + (f"\nhint: {finding.hint}" if finding.hint else ""),
            severity=_SEVERITY[finding.level],
            code=finding.code,
            code_description=types.CodeDescription(href) if href else None,
            source="dslc",
            related_information=[types.DiagnosticRelatedInformation(types.Location(uri, to_range(span, lines)), note)
                                 for note, span in finding.related] or None,
            data={"title": fix.title, "edits": [[_range_json(to_range(span, lines)), text] for span, text in fix.edits]}
            if fix else None,
        ))
    return result


def _range_json(range_: types.Range) -> dict[str, dict[str, int]]:
    return {"start": {"line": range_.start.line, "character": range_.start.character},
            "end": {"line": range_.end.line, "character": range_.end.character}}


def quick_fixes(uri: str, diagnostics: Sequence[types.Diagnostic]) -> list[types.CodeAction]:
    """A fix for each diagnostic whose hint suggests a name (the name replaces the diagnostic's range), and for
    each lint warning that carries one."""
    actions = []
    for diagnostic in diagnostics:
        if diagnostic.source != "dslc":
            continue
        suggestion = _DID_YOU_MEAN.search(diagnostic.message)
        if suggestion is not None:
            edit = types.WorkspaceEdit(changes={uri: [types.TextEdit(diagnostic.range, suggestion.group(1))]})
            actions.append(types.CodeAction(f"Change to '{suggestion.group(1)}'", kind=types.CodeActionKind.QuickFix,
                                            diagnostics=[diagnostic], edit=edit, is_preferred=True))
        elif isinstance(diagnostic.data, dict) and isinstance(diagnostic.data.get("edits"), list):
            edits = [types.TextEdit(_range_of(range_), text) for range_, text in diagnostic.data["edits"]]
            actions.append(types.CodeAction(str(diagnostic.data.get("title")), kind=types.CodeActionKind.QuickFix,
                                            diagnostics=[diagnostic], edit=types.WorkspaceEdit(changes={uri: edits}),
                                            is_preferred=True))
    return actions


def _range_of(data: dict[str, dict[str, int]]) -> types.Range:
    return types.Range(types.Position(data["start"]["line"], data["start"]["character"]),
                       types.Position(data["end"]["line"], data["end"]["character"]))


def layers_on(valid: Valid, line: int) -> list[LayerReport]:
    """The layers written on a 1-based line: one, or every instance of a block's layer."""
    return [layer for layer in valid.analysis.layers if layer.span.line == line]


def hover(valid: Valid, line: int, col: int) -> str | None:
    """Markdown for the 1-based line and column: the model's totals and depth verdict on its name, a layer's facts
    on its line, a block's signature and expansion on a call of it."""
    name = valid.loaded.source_map.value(("model", "name"))
    if name is not None and name.line == line:
        return _model_hover(valid)
    layers = layers_on(valid, line)
    if len(layers) == 1:
        return _layer_hover(valid, layers[0])
    if layers:
        rows = [f"- `{layer.name}`: `{shape_text(layer.output)}`, {number(layer.params)} params, "
                f"{number(layer.flops)} FLOPs" for layer in layers[:MAX_INSTANCES]]
        if len(layers) > MAX_INSTANCES:
            rows.append(f"- and {len(layers) - MAX_INSTANCES} more")
        return f"**{layers[0].kind}** in {len(layers)} block instances\n\n" + "\n".join(rows)
    return _call_hover(valid, line, col)


def _layer_hover(valid: Valid, layer: LayerReport) -> str:
    analysis = valid.analysis
    inputs = dict(analysis.inputs)
    sources = ", ".join(f"`{shape_text(inputs[name] if name in inputs else analysis.layer(name).output)}` from "
                        f"`{name}`" for name in layer.inputs)
    frozen = "" if layer.trainable else " (frozen)"
    return (f"**{layer.name}** · `{layer.kind}`: {REGISTRY[layer.kind].summary()}\n\n"
            f"input {sources or 'none'} → output `{shape_text(layer.output)}`\n\n"
            f"{number(layer.params)} params{frozen} · {number(layer.flops)} FLOPs\n\n"
            f"depth: {_depth_role(valid, layer)}")


def _depth_role(valid: Valid, layer: LayerReport) -> str:
    """The layer's D0 classes (W, N, A) and the level of the learned hierarchy it opens or joins."""
    classes = " ".join(cls.name for cls in layer.classes) or "none"
    levels = valid.analysis.depth.levels
    for number_, level in enumerate(levels, 1):
        if layer.name in level:
            if level[0] == layer.name:
                return f"{classes}; opens level {number_} of {len(levels)} (H, the learned hierarchy)"
            return (f"{classes}; joins level {number_} of {len(levels)} with `{level[0]}` "
                    "(no non-linearity between them)")
    on_path = "" if NodeClass.W not in layer.classes else "; not on the deepest learned path"
    return classes + on_path


def _call_hover(valid: Valid, line: int, col: int) -> str | None:
    """A block call: the block's signature, the instances it expands to, their layers, parameters and FLOPs."""
    symbol = symbol_at(occurrences(valid.loaded), line, col)
    if symbol is None or symbol[0] != "block":
        return None
    block = next(block for block in valid.loaded.spec.blocks if block.name == symbol[1])
    signature = ", ".join(param.name if param.required else f"{param.name}={param.default!r}"
                          for param in block.params)
    expanded = {node.name: node for node in valid.loaded.graph.nodes
                if any(site.line == line for _, site in node.call_sites)}
    layers = [layer for layer in valid.analysis.layers if layer.name in expanded]
    if not layers:
        return f"**block {block.name}**({signature})"
    instances = {layer.scope[:_call_depth(expanded[layer.name].call_sites, line, len(layer.scope))]
                 for layer in layers}
    flops = None if any(layer.flops is None for layer in layers) else sum(layer.flops or 0 for layer in layers)
    return (f"**block {block.name}**({signature})\n\n"
            f"{len(instances)} instance{'s' if len(instances) != 1 else ''} here: {len(layers)} layers, "
            f"{number(sum(layer.params for layer in layers))} params, {number(flops)} FLOPs per example; "
            f"output `{shape_text(layers[-1].output)}`")


def _call_depth(call_sites: CallSites, line: int, scopes: int) -> int:
    """How many of a layer's scopes (outermost first) lie within the call on `line` (call sites are innermost
    first)."""
    index = next(i for i, (_, site) in enumerate(call_sites) if site.line == line)
    return scopes - index


def _model_hover(valid: Valid) -> str:
    analysis = valid.analysis
    totals = analysis.totals
    verdicts = ", ".join(f"{name}: {verdict.verdict} ({verdict.measure} = {verdict.value})"
                         for name, verdict in analysis.depth.policies.items())
    return (f"**model {analysis.model}**: {len(analysis.layers)} layers, {number(totals.params)} params "
            f"({number(totals.trainable)} trainable, {number(totals.frozen)} frozen, "
            f"{number(totals.state)} batch statistics), {number(totals.flops)} FLOPs per example\n\n"
            f"{analysis.depth.sentence}\n\nunder each policy: {verdicts}")


def inlay_hints(valid: Valid, lines: Sequence[str], with_params: bool = False) -> list[types.InlayHint]:
    """The output shape at the end of every layer line (a block's line: each instance's, when they differ), and
    with `with_params` the line's parameters (a block's line: summed over its instances)."""
    shapes: dict[int, list[str]] = {}
    params: dict[int, int] = {}
    for layer in valid.analysis.layers:
        shown = shapes.setdefault(layer.span.line, [])
        params[layer.span.line] = params.get(layer.span.line, 0) + layer.params
        text = shape_text(layer.output)
        if text not in shown:
            shown.append(text)
    hints = []
    for line, texts in sorted(shapes.items()):
        if line > len(lines):  # the last valid analysis of a document that has lost lines since
            continue
        label = " | ".join(texts[:MAX_HINT_SHAPES]) + (" | …" if len(texts) > MAX_HINT_SHAPES else "")
        if with_params and params[line]:
            label += f" · {number(params[line])} params"
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


def definition(valid: Valid, line: int, col: int) -> Span | None:
    """Where the name at the 1-based line and column is defined: a layer, model input, block or block parameter."""
    found = occurrences(valid.loaded)
    symbol = symbol_at(found, line, col)
    return definition_of(found, symbol) if symbol else None


def references(valid: Valid, line: int, col: int, include_declaration: bool) -> list[Span]:
    """Every occurrence of the name at the 1-based line and column."""
    found = occurrences(valid.loaded)
    symbol = symbol_at(found, line, col)
    return spans_of(found, symbol, include_declaration) if symbol else []


def whole_document(lines: Sequence[str]) -> types.Range:
    """`lines` split at each line break, so the last one is what follows the last break."""
    return types.Range(types.Position(0, 0), types.Position(len(lines) - 1, utf16_length(lines[-1])))
