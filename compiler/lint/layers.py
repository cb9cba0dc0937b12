"""Rules about how neighbouring layers combine: W104 (no non-linearity between weighted layers), W105 (a bias
before a batch norm), W107 (a spatial axis pooled down to 1 before layers that still use a window)."""

from __future__ import annotations

from collections.abc import Iterator

from dslc.compiler.analysis.model import LayerReport
from dslc.compiler.lint.rule import LintContext, warning
from dslc.spec.errors import DslcError
from dslc.spec.layers.base import NodeClass, show_shape

W, N, A = NodeClass.W, NodeClass.N, NodeClass.A


def _ends_affine(layer: LayerReport) -> bool:
    """The layer's last mixing step is a weighted map with no non-linearity after it (dense without activation)."""
    last = [cls for cls in layer.classes if cls is not A]
    return bool(last) and last[-1] is W


def _starts_weighted(layer: LayerReport) -> bool:
    first = [cls for cls in layer.classes if cls is not A]
    return bool(first) and first[0] is W


def _affine_passage(layer: LayerReport) -> bool:
    """A one-input layer that is affine or the identity at inference (dropout, reshape, batch norm, ...)."""
    return len(layer.inputs) == 1 and all(cls is A for cls in layer.classes)


# A lookup table followed by a linear map is a factorised table (vocab x dim, then dim x units), the usual
# design of every text model, not a layer lost by mistake (D2 still counts the two as one level).
LOOKUPS = ("embedding",)


def collapsing_weighted_layers(ctx: LintContext) -> Iterator[DslcError]:
    """W104: a weighted layer that reads another's affine output (through one-input affine layers at most).
    Two linear maps compose into one, so D2 counts them as one level (docs/depth.md#d2-affine-collapse)."""
    for first in ctx.analysis.layers:
        if not _ends_affine(first) or first.kind in LOOKUPS:
            continue
        stack, seen = list(ctx.consumers[first.name]), set()
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            layer = ctx.reports[name]
            if _affine_passage(layer):
                stack.extend(ctx.consumers[name])
            elif _starts_weighted(layer) and ctx.nodes[name].tied_to != first.name:
                yield warning("W104", f"layers '{first.name}' and '{name}' have no non-linearity between them: "
                                      "they compose into one linear map and count as one weighted layer under D2",
                              layer.span, hint=f"add an activation (e.g. `activation: relu` on '{first.name}'), "
                                               "or merge them into one layer",
                              related=((f"'{first.name}' ends with no activation", first.span),))


def bias_before_batchnorm(ctx: LintContext) -> Iterator[DslcError]:
    """W105: a weighted layer with a bias whose every reader is a batch norm: the norm subtracts the per-channel
    mean (the bias with it) and adds its own learned shift, so the bias is trained for nothing."""
    for layer in ctx.analysis.layers:
        node = ctx.nodes[layer.name]
        readers = ctx.consumers[layer.name]
        if (getattr(node.params, "use_bias", False) is True and _ends_affine(layer) and readers
                and all(ctx.reports[name].kind == "batchnorm" for name in readers)):
            channels = layer.output.shape[-1] if layer.output.shape else None
            saved = f" ({channels:,} parameters)" if channels else ""
            yield warning("W105", f"layer '{layer.name}': its bias{saved} is cancelled by the batch norm "
                                  f"'{readers[0]}' after it (the norm's shift takes its place)",
                          ctx.argument_span(node, "use_bias"), hint="set `use_bias: false` (DSL `use_bias=false`)")


def _window(ctx: LintContext, name: str) -> tuple[int, ...]:
    """The kernel or pooling window of a layer (one size per axis as written), () for other layers."""
    params = vars(ctx.nodes[name].params)
    window = params.get("kernel") or params.get("window")
    if window is None:
        return ()
    return window if isinstance(window, tuple) else (window,)


def spatial_axis_of_one(ctx: LintContext) -> Iterator[DslcError]:
    """W107: a window (pooling or strided convolution) that brings a spatial axis from more than 1 to 1, while a
    later layer still slides a window larger than 1 over the spatial axes: that window sees one position and padding.
    """
    window_after = ctx.first_after(lambda later: max(_window(ctx, later.name), default=1) > 1)
    for layer in ctx.analysis.layers:
        if not _window(ctx, layer.name) or layer.kind.endswith("_transpose") or len(layer.inputs) != 1:
            continue
        before = ctx.tensor(layer.inputs[0]).shape[:-1]
        after = layer.output.shape[:-1]
        if len(before) != len(after) or not any(b is not None and b > 1 and a == 1
                                                for b, a in zip(before, after, strict=True)):
            continue
        later = window_after[layer.name]
        if later is not None:
            yield warning("W107", f"layer '{layer.name}': the spatial axes go from {show_shape(before)} to "
                                  f"{show_shape(after)}, but '{later}' after it still slides a window of "
                                  f"{show_shape(_window(ctx, later), compact=True)} over them",
                          layer.span, hint="pool less (a smaller window or stride), or end the spatial part with "
                                           "global_avgpool and continue with dense layers",
                          related=((f"'{later}' expects spatial structure", ctx.reports[later].span),))
