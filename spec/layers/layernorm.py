"""Layer normalisation over the last axis, per example. Shape unchanged.

The last axis (`c` features) must have a known size. Parameters: `2 * c`
(scale and bias). FLOPs: 5 per element. Per-example statistics make it
non-linear at inference (D0 class N).
"""

from dslc.spec.layers._shapes import N, constant, norm_build, norm_cost, over_features
from dslc.spec.layers.base import Epsilon, LayerKind, LayerParams


class LayerNormParams(LayerParams):
    epsilon: Epsilon = 1e-6


KIND = LayerKind("layernorm", LayerNormParams, __doc__, "normalisation",
                 infer=over_features, cost=norm_cost(with_statistics=False), classes=constant(N),
                 build=norm_build("LayerNorm"))
