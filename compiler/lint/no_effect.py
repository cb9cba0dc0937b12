"""W102: a parameter-free layer that computes the identity, decided from its parameters and its tensors."""

from __future__ import annotations

from collections.abc import Iterator

from dslc.compiler.analysis.model import LayerReport
from dslc.compiler.lint.rule import LintContext, warning
from dslc.spec.errors import DslcError
from dslc.spec.layers._pool import PoolParams
from dslc.spec.layers.base import show_shape
from dslc.spec.layers.dropout import DropoutParams
from dslc.spec.layers.stochastic_depth import StochasticDepthParams

# Kinds that only move, pad, crop or repeat values: with the output's shape equal to the input's, nothing moved.
RESHAPING = ("flatten", "reshape")  # the element count is kept, so an equal shape is equal even with unknown sizes
PADDING = ("zero_padding", "cropping", "upsample")  # equal only when every size is known
POOLING = ("maxpool", "avgpool")


def layers_without_effect(ctx: LintContext) -> Iterator[DslcError]:
    for layer in ctx.analysis.layers:
        why = _identity(ctx, layer)
        if why:
            yield warning("W102", f"layer '{layer.name}' has no effect: {why}", layer.span,
                          hint="remove it, or give it the parameters that were meant")


def _identity(ctx: LintContext, layer: LayerReport) -> str | None:
    """Why the layer is the identity, or None."""
    params = ctx.nodes[layer.name].params
    if isinstance(params, DropoutParams | StochasticDepthParams):
        return f"{layer.kind} with rate 0" if params.rate == 0 else None
    if len(layer.inputs) != 1:
        return None
    before, after = ctx.tensor(layer.inputs[0]), layer.output
    if before != after:
        return None
    shown = f"keeps the shape {show_shape(after.shape)}"
    if layer.kind in RESHAPING:
        return f"{layer.kind} {shown}"
    known = all(dim is not None for dim in after.shape)
    if layer.kind in PADDING and known:
        return f"{layer.kind} {shown}"
    if isinstance(params, PoolParams) and layer.kind in POOLING and known and _all_ones(params.window):
        return f"{layer.kind} with a window of 1 and {shown}"
    return None


def _all_ones(window: int | tuple[int, ...]) -> bool:
    return all(size == 1 for size in (window if isinstance(window, tuple) else (window,)))
