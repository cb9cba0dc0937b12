"""Parameters and rules shared by the convolution kinds (conv1d/2d/3d and their transposes).

Convolutions are channels-last, with 1, 2 or 3 spatial axes before the
channels. An int `kernel`, `stride` or `dilation` applies to every spatial
axis; a list gives one per axis. Output sizes follow `_shapes` (as `jax.lax`).

- Convolution, `c` input channels, `g` groups: parameters
  `prod(kernel) * c/g * filters` (+ `filters` biases); FLOPs
  `2 * out_positions * prod(kernel) * c/g * filters`.
- Transposed convolution: parameters `prod(kernel) * c * filters` (+ biases);
  FLOPs `2 * in_positions * prod(kernel) * c * filters`.

`kernel_init` / `bias_init` choose the initialisers (see `_init`); a
convolution's fans count its window: `fan_in = prod(kernel) * c/g`.

Bias additions are not counted as FLOPs (as for dense layers); a fused
`activation:` adds its element-wise FLOPs (see `activations.ACTIVATIONS`).
"""

import math
from collections.abc import Callable
from typing import Literal

from dslc.spec.layers._init import Initialised, Initializer, Std, init_arguments
from dslc.spec.layers._shapes import (
    expect_rank,
    known,
    one,
    pads,
    per_axis,
    plus,
    prod,
    show_shape,
    times,
    to_floating,
    transpose_out,
    window_out,
)
from dslc.spec.layers.activations import Activation, activation_flops
from dslc.spec.layers.base import (
    Construct,
    Cost,
    Padding,
    PositiveInt,
    ShapeError,
    Tensor,
    Window,
)

AXES = {1: "(length, channels)", 2: "(height, width, channels)", 3: "(depth, height, width, channels)"}


class ConvTransposeParams(Initialised):
    filters: PositiveInt
    kernel: Window
    stride: Window = 1
    padding: Padding = "valid"
    dilation: Window = 1
    use_bias: bool = True
    activation: Activation | None = None
    kernel_init: Initializer | None = None
    kernel_std: Std | None = None
    kernel_value: float | None = None
    bias_init: Initializer | None = None
    bias_std: Std | None = None
    bias_value: float | None = None


class ConvParams(ConvTransposeParams):
    # An integer splits channels into groups; 'depthwise' makes one group per input channel.
    groups: PositiveInt | Literal["depthwise"] = 1


def _geometry(params: ConvTransposeParams, x: Tensor) -> tuple:
    """Kernel, stride, dilation and padding, one entry per spatial axis (E503 on a length mismatch)."""
    count = len(x.shape) - 1
    return (per_axis(params.kernel, count, "kernel", x.shape), per_axis(params.stride, count, "stride", x.shape),
            per_axis(params.dilation, count, "dilation", x.shape), pads(params.padding, count, x.shape))


def _groups(params: ConvParams, x: Tensor) -> int:
    """The number of groups, after checking it against the input channels and the filters (E503)."""
    channels = known(x, -1, "the channel axis (the last)")
    if params.groups == "depthwise":
        if params.filters % channels:
            raise ShapeError("E503", f"a depthwise convolution needs filters ({params.filters}) to be a multiple "
                                     f"of the input channels ({channels}), input {show_shape(x.shape)}", "filters")
        return channels
    for what, count in (("input channels", channels), ("filters", params.filters)):
        if count % params.groups:
            raise ShapeError("E503", f"groups ({params.groups}) must divide the {what} ({count}), "
                                     f"input {show_shape(x.shape)}", "groups")
    return params.groups


def _checked(x: Tensor, spatial: int) -> None:
    expect_rank(x, spatial + 1, AXES[spatial])
    known(x, -1, "the channel axis (the last)")


def conv_infer(spatial: int) -> Callable[[ConvParams, tuple[Tensor, ...]], Tensor]:
    def infer(params: ConvParams, inputs: tuple[Tensor, ...]) -> Tensor:
        x = one(inputs)
        _checked(x, spatial)
        _groups(params, x)
        kernel, stride, dilation, padding = _geometry(params, x)
        return Tensor((*window_out(x.shape, kernel, stride, dilation, padding, "kernel"), params.filters), x.dtype)

    return to_floating(infer)


def _cost(params: ConvTransposeParams, weights: int, positions: int | None, output: Tensor) -> Cost:
    """`weights` kernel entries, each a multiply-add at each of `positions`; biases; a fused activation."""
    return Cost(params=weights + (params.filters if params.use_bias else 0),
                flops=plus(times(2, positions, weights), activation_flops(params.activation, output)),
                macs=times(positions, weights))


def _kernel_size(params: ConvTransposeParams, x: Tensor) -> int:
    return math.prod(per_axis(params.kernel, len(x.shape) - 1, "kernel", x.shape))


def conv_cost(params: ConvParams, inputs: tuple[Tensor, ...], output: Tensor) -> Cost:
    x = one(inputs)
    channels = known(x, -1, "the channel axis (the last)")
    weights = _kernel_size(params, x) * (channels // _groups(params, x)) * params.filters
    return _cost(params, weights, prod(output.shape[:-1]), output)


def transpose_infer(spatial: int) -> Callable[[ConvTransposeParams, tuple[Tensor, ...]], Tensor]:
    def infer(params: ConvTransposeParams, inputs: tuple[Tensor, ...]) -> Tensor:
        x = one(inputs)
        _checked(x, spatial)
        kernel, stride, dilation, padding = _geometry(params, x)
        return Tensor((*transpose_out(x.shape, kernel, stride, dilation, padding), params.filters), x.dtype)

    return to_floating(infer)


def transpose_cost(params: ConvTransposeParams, inputs: tuple[Tensor, ...], output: Tensor) -> Cost:
    x = one(inputs)
    channels = known(x, -1, "the channel axis (the last)")
    return _cost(params, _kernel_size(params, x) * channels * params.filters, prod(x.shape[:-1]), output)


def _arguments(params: ConvTransposeParams, x: Tensor, dtype: str) -> dict:
    """`_flax.Conv` / `ConvTranspose` arguments: one size per spatial axis, the padding as written."""
    kernel, stride, dilation, _ = _geometry(params, x)
    return {"in_features": x.shape[-1], "filters": params.filters, "kernel": kernel, "stride": stride,
            "dilation": dilation, "padding": params.padding, "use_bias": params.use_bias,
            "activation": params.activation, "dtype": dtype, **init_arguments(params, "kernel", "bias")}


def conv_build(params: ConvParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
    x = one(inputs)
    return Construct("Conv", {**_arguments(params, x, dtype), "groups": _groups(params, x)})


def transpose_build(params: ConvTransposeParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
    return Construct("ConvTranspose", _arguments(params, one(inputs), dtype))
