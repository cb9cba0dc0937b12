"""Root-mean-square normalisation over the last axis, per example (Llama's RMSNorm). Shape unchanged.

`x / sqrt(mean(x**2) + epsilon) * scale`: no centring, no bias. The last axis (`c`
features) must have a known size. Parameters: `c` (the scale). FLOPs: 5 per element, as
every normalisation. Per-example statistics make it non-linear at inference (D0 class N).
"""

from dslc.spec.layers._shapes import NORM_FLOPS, N, constant, elements, norm_build, over_features, times
from dslc.spec.layers.base import Cost, Epsilon, LayerKind, LayerParams, Tensor


class RMSNormParams(LayerParams):
    epsilon: Epsilon = 1e-6


def cost(params: RMSNormParams, inputs: tuple[Tensor, ...], output: Tensor) -> Cost:
    return Cost(params=output.shape[-1] or 0, flops=times(NORM_FLOPS, elements(output)))


KIND = LayerKind("rmsnorm", RMSNormParams, __doc__, "normalisation",
                 infer=over_features, cost=cost, classes=constant(N), build=norm_build("RMSNorm"))
