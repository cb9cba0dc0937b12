"""Layer scale: multiplies each channel by a learned factor, initially `init`. Shape unchanged.

ConvNeXt and CaiT scale a residual branch this way before the sum, starting
near zero (`init: 1e-6`) so that each block begins close to the identity.
Input `(..., c)` with `c` known. Parameters: `c`. FLOPs: 1 per element. A
fixed diagonal map at inference (D0 class A).
"""

from dslc.spec.layers._shapes import A, constant, elements, one, over_features
from dslc.spec.layers.base import Construct, Cost, LayerKind, LayerParams, Tensor


class LayerScaleParams(LayerParams):
    init: float = 1e-6


def cost(params: LayerScaleParams, inputs: tuple[Tensor, ...], output: Tensor) -> Cost:
    return Cost(params=output.shape[-1] or 0, flops=elements(output))


def build(params: LayerScaleParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
    return Construct("LayerScale", {"num_features": one(inputs).shape[-1], "init": params.init, "dtype": dtype})


KIND = LayerKind("layer_scale", LayerScaleParams, __doc__, "normalisation", positional=("init",),
                 infer=over_features, cost=cost, classes=constant(A), build=build)
