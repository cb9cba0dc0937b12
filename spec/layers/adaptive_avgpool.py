"""Adaptive average pooling to a fixed spatial size: `(*spatial, channels) -> (*output_size, channels)`.

As PyTorch's `AdaptiveAvgPool`: output index `i` of an axis of size `n` averages
input positions `floor(i * n / m)` to `ceil((i + 1) * n / m)` (exclusive) for an
output size `m`, so windows may overlap and differ in size. `output_size` is one
size for every spatial axis or one per axis; the input's spatial sizes must be
known. No parameters. FLOPs: one per element of each window. Affine (D0 class A).
"""

from dslc.spec.layers._shapes import (
    A,
    constant,
    expect_rank_between,
    known,
    one,
    per_axis,
    prod,
    to_floating,
)
from dslc.spec.layers.base import Construct, Cost, LayerKind, LayerParams, Tensor, Window

AXES = "(*spatial, channels) with 1 to 3 spatial axes"


class AdaptiveAvgPoolParams(LayerParams):
    output_size: Window


def _sizes(params: AdaptiveAvgPoolParams, x: Tensor) -> tuple[int, ...]:
    return per_axis(params.output_size, len(x.shape) - 1, "output_size", x.shape)


def window_total(n: int, m: int) -> int:
    """Input positions summed over the `m` windows of an axis of size `n` (overlaps counted twice)."""
    return sum(-(-(i + 1) * n // m) - i * n // m for i in range(m))


def _known_axis(x: Tensor, axis: int) -> int:
    return known(x, axis, f"spatial axis {axis}")


@to_floating
def infer(params: AdaptiveAvgPoolParams, inputs: tuple[Tensor, ...]) -> Tensor:
    x = one(inputs)
    expect_rank_between(x, 2, 4, AXES)
    for axis in range(len(x.shape) - 1):
        _known_axis(x, axis)
    return Tensor((*_sizes(params, x), x.shape[-1]), x.dtype)


def cost(params: AdaptiveAvgPoolParams, inputs: tuple[Tensor, ...], output: Tensor) -> Cost:
    x = one(inputs)
    totals = (window_total(_known_axis(x, axis), m) for axis, m in enumerate(_sizes(params, x)))
    return Cost(flops=prod((*totals, x.shape[-1])))


def build(params: AdaptiveAvgPoolParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
    x = one(inputs)
    return Construct("AdaptiveAvgPool", {"input_size": x.shape[:-1], "output_size": _sizes(params, x)})


KIND = LayerKind("adaptive_avgpool", AdaptiveAvgPoolParams, __doc__, "pooling", positional=("output_size",),
                 infer=infer, cost=cost, classes=constant(A), build=build)
