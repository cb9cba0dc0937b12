"""Stochastic depth (drop path): while training, drops a whole residual branch for a fraction `rate` of the examples.

Each example's tensor is zeroed with probability `rate` and otherwise scaled by
`1 / (1 - rate)`, as torchvision's `StochasticDepth` in row mode; put it on the
branch before the residual `add`. Identity at inference. Shape unchanged; no
parameters, no FLOPs (D0 class A).
"""

from dslc.spec.layers._shapes import A, constant, free, one, same_shape, to_floating
from dslc.spec.layers.base import Construct, LayerKind, LayerParams, Rate, Tensor


class StochasticDepthParams(LayerParams):
    rate: Rate


def build(params: StochasticDepthParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
    return Construct("StochasticDepth", {"rate": params.rate, "rank": len(one(inputs).shape)})


KIND = LayerKind("stochastic_depth", StochasticDepthParams, __doc__, "regularisation", positional=("rate",),
                 infer=to_floating(same_shape), cost=free, classes=constant(A), build=build)
