"""Fully connected layer: `(..., d) -> (..., units)`.

Multiplies the last axis by a `d x units` kernel and adds a bias. `activation`
fuses an activation after it.

`kernel_init` / `bias_init` (with `kernel_std`, `kernel_value`, ...) choose the
initialisers: `zeros`, `ones`, `constant`, `normal`, `truncated_normal`,
`xavier_uniform`/`normal`, `he_uniform`/`normal`, `lecun_normal`/`uniform`
(default: LeCun normal kernel, zero bias).

The last axis must have a known size `d`. Parameters: `d * units`, plus
`units` biases. FLOPs: `2 * d * units` for every position of the other axes.
"""

from dslc.spec.layers._init import Initialised, Initializer, Std, init_arguments
from dslc.spec.layers._shapes import (
    expect_rank_between,
    known,
    one,
    plus,
    prod,
    times,
    to_floating,
    weighted,
)
from dslc.spec.layers.activations import Activation, activation_flops
from dslc.spec.layers.base import Construct, Cost, LayerKind, PositiveInt, Tensor


class DenseParams(Initialised):
    units: PositiveInt
    use_bias: bool = True
    activation: Activation | None = None
    kernel_init: Initializer | None = None
    kernel_std: Std | None = None
    kernel_value: float | None = None
    bias_init: Initializer | None = None
    bias_std: Std | None = None
    bias_value: float | None = None


def infer(params: DenseParams, inputs: tuple[Tensor, ...]) -> Tensor:
    x = one(inputs)
    expect_rank_between(x, 1, None, "(..., features)")
    known(x, -1, "the feature axis (the last)")
    return Tensor((*x.shape[:-1], params.units), x.dtype)


def cost(params: DenseParams, inputs: tuple[Tensor, ...], output: Tensor) -> Cost:
    x = one(inputs)
    weights = known(x, -1, "the feature axis (the last)") * params.units
    products = times(weights, prod(x.shape[:-1]))
    return Cost(params=weights + (params.units if params.use_bias else 0),
                flops=plus(times(2, products), activation_flops(params.activation, output)), macs=products)


def build(params: DenseParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
    return Construct("Dense", {"in_features": one(inputs).shape[-1], "units": params.units,
                               "use_bias": params.use_bias, "activation": params.activation, "dtype": dtype,
                               **init_arguments(params, "kernel", "bias")})


KIND = LayerKind("dense", DenseParams, __doc__, "core", positional=("units",),
                 infer=to_floating(infer), cost=cost, classes=weighted, build=build)
