"""Parameters and rules shared by max and average pooling, windowed and global.

Pooling works on channels-last input with 1, 2 or 3 spatial axes (the rank
comes from the input: 2 to 4). A window's output sizes follow `_shapes` with
dilation 1; `stride` defaults to the window. FLOPs: one per element of each
window (`output elements * prod(window)`) and, for global pooling, one per
input element. Pooling learns nothing.
"""

from collections.abc import Callable
from typing import Any

from dslc.spec.layers._shapes import (
    Pad,
    elements,
    expect_rank_between,
    one,
    pads,
    per_axis,
    prod,
    times,
    window_out,
)
from dslc.spec.layers.base import Construct, Cost, LayerParams, Padding, ShapeError, Tensor, Window

AXES = "(*spatial, channels) with 1 to 3 spatial axes"


class PoolParams(LayerParams):
    window: Window
    stride: Window | None = None  # defaults to the window
    padding: Padding = "valid"
    ceil_mode: bool = False  # round the output size up (PyTorch's ceil_mode)


class GlobalPoolParams(LayerParams):
    keepdims: bool = False


def _window(params: PoolParams, x: Tensor) -> tuple[int, ...]:
    return per_axis(params.window, len(x.shape) - 1, "window", x.shape)


def _stride(params: PoolParams, x: Tensor) -> tuple[int, ...]:
    if params.stride is None:
        return _window(params, x)
    return per_axis(params.stride, len(x.shape) - 1, "stride", x.shape)


def _ceil_pad(n: int | None, window: int, stride: int, pad: Pad) -> Pad:
    """`pad` with the extra high padding that makes a valid window count round up (PyTorch's rule)."""
    lo, hi = pad if isinstance(pad, tuple) else (0, 0)
    if n is None:
        raise ShapeError("E506", "ceil_mode needs known spatial sizes (its padding depends on them)", "ceil_mode")
    if n + lo + hi < window:
        return pad  # window_out reports the window larger than its input
    count = -(-(n + lo + hi - window) // stride) + 1
    if (count - 1) * stride >= n + lo:  # the last window would start in the high padding only
        count -= 1
    return (lo, hi + (count - 1) * stride + window - (n + lo + hi))


def _padding(params: PoolParams, x: Tensor) -> tuple[Pad, ...]:
    """Padding per spatial axis, with `ceil_mode`'s extra high padding made explicit."""
    count = len(x.shape) - 1
    padding = pads(params.padding, count, x.shape)
    if not params.ceil_mode:
        return padding
    if params.padding == "same":
        raise ShapeError("E503", "ceil_mode needs valid or explicit padding ('same' already rounds up)", "ceil_mode")
    return tuple(_ceil_pad(n, k, s, pad)
                 for n, k, s, pad in zip(x.shape[:-1], _window(params, x), _stride(params, x), padding, strict=True))


def pool_infer(params: PoolParams, inputs: tuple[Tensor, ...]) -> Tensor:
    x = one(inputs)
    expect_rank_between(x, 2, 4, AXES)
    count = len(x.shape) - 1
    window, stride = _window(params, x), _stride(params, x)
    spatial = window_out(x.shape, window, stride, (1,) * count, _padding(params, x), "window")
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
        padding = _padding(params, x) if params.ceil_mode else params.padding
        return Construct("Pool", {"op": op, "window": _window(params, x), "stride": _stride(params, x),
                                  "padding": padding})

    return build


def global_build(op: str) -> Callable[[GlobalPoolParams, tuple[Tensor, ...], str], Construct]:
    return lambda params, inputs, dtype: Construct("GlobalPool", {"op": op, "keepdims": params.keepdims})
