"""Gated feed-forward network (SwiGLU, GeGLU): `(..., features) -> (..., features)`.

`down(activation(gate(x)) * up(x))`: `gate` and `up` project the `F` features to
`hidden`, `down` projects back; `activation` is `silu` (SwiGLU, as Llama), `gelu` or
`gelu_tanh` (GeGLU, as Gemma). `use_bias` gives every projection a bias.

The last axis must have a known size `F`. Parameters: `3 * F * hidden`, plus
`2 * hidden + F` biases. FLOPs per position: `2 * 3 * F * hidden` for the projections, one
per hidden unit for the activation and one for the product. D0 classes: W, N, W (the
activation and the product are one non-linear step between the projections).
"""

from typing import Literal

from dslc.spec.layers._shapes import N, W, constant, expect_rank_between, known, one, prod, times, to_floating
from dslc.spec.layers.base import Construct, Cost, LayerKind, LayerParams, PositiveInt, Tensor

GateActivation = Literal["silu", "gelu", "gelu_tanh"]


class GatedMLPParams(LayerParams):
    hidden: PositiveInt
    activation: GateActivation = "silu"
    use_bias: bool = False


def features(inputs: tuple[Tensor, ...]) -> int:
    x = one(inputs)
    expect_rank_between(x, 1, None, "(..., features)")
    return known(x, -1, "the feature axis (the last)")


@to_floating
def infer(params: GatedMLPParams, inputs: tuple[Tensor, ...]) -> Tensor:
    features(inputs)
    return one(inputs)


def gated_mlp_params(width: int, hidden: int, use_bias: bool) -> int:
    return 3 * width * hidden + (2 * hidden + width if use_bias else 0)


def gated_mlp_flops(width: int, hidden: int) -> int:
    """Per position: the three projections, then the activation and the product over the hidden units."""
    return 2 * 3 * width * hidden + 2 * hidden


def cost(params: GatedMLPParams, inputs: tuple[Tensor, ...], output: Tensor) -> Cost:
    width = features(inputs)
    return Cost(params=gated_mlp_params(width, params.hidden, params.use_bias),
                flops=times(prod(output.shape[:-1]), gated_mlp_flops(width, params.hidden)))


def build(params: GatedMLPParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
    return Construct("GatedMLP", {"features": features(inputs), **params.model_dump(), "dtype": dtype})


KIND = LayerKind("gated_mlp", GatedMLPParams, __doc__, "attention", positional=("hidden",),
                 infer=infer, cost=cost, classes=constant(W, N, W), build=build)
