"""Rules about where outputs go: W101 (a dead layer), W106 (dropout after the last weighted layer)."""

from __future__ import annotations

from collections.abc import Iterator

from dslc.compiler.lint.rule import LintContext, is_weighted, warning
from dslc.spec.errors import DslcError
from dslc.spec.layers.dropout import DropoutParams

DROPOUTS = ("dropout", "stochastic_depth")


def dead_layers(ctx: LintContext) -> Iterator[DslcError]:
    """W101 at each dead end: a layer that nothing reads and that is no model output. The dead layers before it
    are named in its message; a dead layer's compute and parameters change no output."""
    live = _reaching_outputs(ctx)
    for layer in ctx.analysis.layers:
        if layer.name in live or ctx.consumers[layer.name]:
            continue
        feeding = _dead_feeding(ctx, layer.name, live)
        also = f" (nor do the dead layers before it: {', '.join(repr(n) for n in feeding)})" if feeding else ""
        outputs = ", ".join(f"'{name}'" for name in ctx.analysis.outputs)
        yield warning("W101", f"layer '{layer.name}': its output reaches no model output{also}", layer.span,
                      hint=f"the model's outputs are {outputs}: read it with `from:` (DSL `from=`), name it among "
                           "the outputs, or remove it")


def _reaching_outputs(ctx: LintContext) -> set[str]:
    """The layers and inputs that some model output depends on (a tied head depends on its embedding)."""
    live: set[str] = set()
    stack = list(ctx.analysis.outputs)
    while stack:
        name = stack.pop()
        if name in live:
            continue
        live.add(name)
        layer = ctx.reports.get(name)
        if layer is not None:
            tied = ctx.nodes[name].tied_to
            stack.extend((*layer.inputs, *([tied] if tied else [])))
    return live


def _dead_feeding(ctx: LintContext, start: str, live: set[str]) -> list[str]:
    """The dead layers upstream of `start` (the walk stops at live ones), in graph order."""
    seen: set[str] = set()
    stack = list(ctx.reports[start].inputs)
    while stack:
        name = stack.pop()
        if name not in seen and name not in live and name in ctx.reports:
            seen.add(name)
            stack.extend(ctx.reports[name].inputs)
    return [name for name in ctx.reports if name in seen]


def dropout_after_last_weighted(ctx: LintContext) -> Iterator[DslcError]:
    """W106: a dropout from which no weighted layer is reached. It drops (and rescales) output values: at training
    time the loss sees noise no weight can adapt to, at inference it does nothing."""
    weighted_after = ctx.first_after(is_weighted)
    for layer in ctx.analysis.layers:
        params = ctx.nodes[layer.name].params
        if layer.kind not in DROPOUTS or (isinstance(params, DropoutParams) and params.rate == 0):
            continue  # a rate of 0 is W102's
        if weighted_after[layer.name] is None:
            yield warning("W106", f"layer '{layer.name}': {layer.kind} after the last weighted layer: it only adds "
                                  "noise to the model's output", layer.span,
                          hint="move it before the last weighted layer (dense, conv), or remove it")
