"""Upsampling of the spatial axes by an integer `factor`: `(*spatial, channels) -> (*spatial * factor, channels)`.

`factor` is one size for every spatial axis or one per axis. `method: nearest`
(the default) repeats each element; `bilinear` interpolates linearly along each
spatial axis with half-pixel centres (`jax.image.resize`'s `linear`, PyTorch's
`interpolate(mode='bilinear', align_corners=False)`, edges clamped). 1 to 3
spatial axes. No parameters. FLOPs: none for `nearest`; `bilinear` 3 per output
element per spatial axis (one interpolation each). Both are linear maps (D0 class A).
"""

from typing import Literal

from dslc.spec.layers._shapes import A, constant, elements, expect_rank_between, one, per_axis, times, to_floating
from dslc.spec.layers.base import Construct, Cost, LayerKind, LayerParams, Tensor, Window

AXES = "(*spatial, channels) with 1 to 3 spatial axes"
FLOPS_PER_AXIS = 3  # a + t * (b - a) per output element and axis


class UpsampleParams(LayerParams):
    factor: Window
    method: Literal["nearest", "bilinear"] = "nearest"


def _factors(params: UpsampleParams, x: Tensor) -> tuple[int, ...]:
    return per_axis(params.factor, len(x.shape) - 1, "factor", x.shape)


def infer(params: UpsampleParams, inputs: tuple[Tensor, ...]) -> Tensor:
    x = one(inputs)
    expect_rank_between(x, 2, 4, AXES)
    spatial = tuple(times(n, f) for n, f in zip(x.shape[:-1], _factors(params, x), strict=True))
    return Tensor((*spatial, x.shape[-1]), x.dtype)


def cost(params: UpsampleParams, inputs: tuple[Tensor, ...], output: Tensor) -> Cost:
    if params.method == "nearest":
        return Cost()
    return Cost(flops=times(FLOPS_PER_AXIS * (len(output.shape) - 1), elements(output)))


def build(params: UpsampleParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
    return Construct("Upsample", {"factor": _factors(params, one(inputs)), "method": params.method})


def _infer(params: UpsampleParams, inputs: tuple[Tensor, ...]) -> Tensor:
    """Bilinear interpolation is fractional (float output); nearest copies, keeping the dtype."""
    return (to_floating(infer) if params.method == "bilinear" else infer)(params, inputs)


KIND = LayerKind("upsample", UpsampleParams, __doc__, "shape", positional=("factor",),
                 infer=_infer, cost=cost, classes=constant(A), build=build)
