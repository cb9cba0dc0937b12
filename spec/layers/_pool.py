"""Parameters and rules shared by max and average pooling, windowed and global.

Pooling works on channels-last input with 1, 2 or 3 spatial axes (the rank
comes from the input: 2 to 4). A window's output sizes follow `_shapes` with
dilation 1; `stride` defaults to the window. FLOPs: one per element of each
window (`output elements * prod(window)`) and, for global pooling, one per
input element. Pooling learns nothing.
"""

from collections.abc import Callable
from typing import Any

from dslc.spec.layers._shapes import elements, expect_rank_between, one, pads, per_axis, prod, times, window_out
from dslc.spec.layers.base import Construct, Cost, LayerParams, Padding, Tensor, Window

AXES = "(*spatial, channels) with 1 to 3 spatial axes"


class PoolParams(LayerParams):
    window: Window
    stride: Window | None = None  # defaults to the window
    padding: Padding = "valid"


class GlobalPoolParams(LayerParams):
    keepdims: bool = False


def _window(params: PoolParams, x: Tensor) -> tuple[int, ...]:
    return per_axis(params.window, len(x.shape) - 1, "window", x.shape)


def _stride(params: PoolParams, x: Tensor) -> tuple[int, ...]:
    if params.stride is None:
        return _window(params, x)
    return per_axis(params.stride, len(x.shape) - 1, "stride", x.shape)


def pool_infer(params: PoolParams, inputs: tuple[Tensor, ...]) -> Tensor:
    x = one(inputs)
    expect_rank_between(x, 2, 4, AXES)
    count = len(x.shape) - 1
    window, stride = _window(params, x), _stride(params, x)
    spatial = window_out(x.shape, window, stride, (1,) * count, pads(params.padding, count, x.shape), "window")
    return Tensor((*spatial, x.shape[-1]), x.dtype)


def pool_cost(params: PoolParams, inputs: tuple[Tensor, ...], output: Tensor) -> Cost:
    return Cost(flops=times(elements(output), prod(_window(params, one(inputs)))))


def global_infer(params: GlobalPoolParams, inputs: tuple[Tensor, ...]) -> Tensor:
    x = one(inputs)
    expect_rank_between(x, 2, None, "(*spatial, channels)")
    kept = (1,) * (len(x.shape) - 1) if params.keepdims else ()
    return Tensor((*kept, x.shape[-1]), x.dtype)


def global_cost(params: Any, inputs: tuple[Tensor, ...], output: Tensor) -> Cost:
    return Cost(flops=elements(one(inputs)))


def pool_build(op: str) -> Callable[[PoolParams, tuple[Tensor, ...], str], Construct]:
    """`_flax.Pool` with `op` (max, avg), one window and stride size per spatial axis."""

    def build(params: PoolParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
        x = one(inputs)
        return Construct("Pool", {"op": op, "window": _window(params, x), "stride": _stride(params, x),
                                  "padding": params.padding})

    return build


def global_build(op: str) -> Callable[[GlobalPoolParams, tuple[Tensor, ...], str], Construct]:
    return lambda params, inputs, dtype: Construct("GlobalPool", {"op": op, "keepdims": params.keepdims})
