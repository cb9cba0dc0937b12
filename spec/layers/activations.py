"""Element-wise activations as layers: the shape is unchanged.

Each is also available as the `activation:` shorthand of dense, convolution
and recurrent layers. One module holds them all because they share one shape
rule and (but for two) no parameters.

None has learned parameters. FLOPs: one per element, three for softmax
(`_shapes.ACTIVATION_FLOPS`). Every one is non-linear (D0 class N).
Softmax's `axis` counts the axes after the batch axis (`0` is the first of
them, `-1` the last). All but relu turn integer input into `float32`.
"""

from collections.abc import Callable
from typing import Annotated

from pydantic import Field

from dslc.spec.layers._shapes import (
    ACTIVATION_FLOPS,
    N,
    axis_index,
    batch_axis,
    constant,
    elementwise_cost,
    one,
    same_shape,
    to_floating,
)
from dslc.spec.layers.base import Construct, LayerKind, LayerParams, Tensor


class NoParams(LayerParams):
    pass


class LeakyReluParams(LayerParams):
    negative_slope: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.01


class GeluParams(LayerParams):
    approximate: bool = False


class SoftmaxParams(LayerParams):
    axis: int = -1


def softmax_infer(params: SoftmaxParams, inputs: tuple[Tensor, ...]) -> Tensor:
    x = one(inputs)
    axis_index(params.axis, len(x.shape), x.shape)
    return x


def _build(name: str) -> Callable[[LayerParams, tuple[Tensor, ...], str], Construct]:
    """`_flax.Activation(name, **options)`; softmax's `axis` becomes an axis of the batched array."""

    def build(params: LayerParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
        options = params.model_dump()
        if "axis" in options:
            options["axis"] = batch_axis(options["axis"])
        return Construct("Activation", {"name": name, **options})

    return build


def _kind(name: str, params: type[LayerParams], doc: str, **extra) -> LayerKind:
    infer = extra.pop("infer", same_shape)
    return LayerKind(name, params, doc, "activation", infer=infer if name == "relu" else to_floating(infer),
                     cost=elementwise_cost(ACTIVATION_FLOPS[name]), classes=constant(N), build=_build(name), **extra)


KINDS = (
    _kind("relu", NoParams, "Rectified linear unit, `max(x, 0)`: shape unchanged."),
    _kind("leaky_relu", LeakyReluParams, "Leaky ReLU, `x if x > 0 else negative_slope * x`: shape unchanged.",
          positional=("negative_slope",)),
    _kind("gelu", GeluParams, "Gaussian error linear unit (`approximate`: tanh form): shape unchanged."),
    _kind("silu", NoParams, "SiLU / swish, `x * sigmoid(x)`: shape unchanged."),
    _kind("tanh", NoParams, "Hyperbolic tangent: shape unchanged."),
    _kind("sigmoid", NoParams, "Logistic sigmoid: shape unchanged."),
    _kind("softmax", SoftmaxParams, "Softmax along `axis` (default the last): shape unchanged.",
          positional=("axis",), infer=softmax_infer),
)
