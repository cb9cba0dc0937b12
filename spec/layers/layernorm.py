"""Layer normalisation over the last axis, per example. Shape unchanged.
"""

from dslc.spec.layers.base import Epsilon, LayerKind, LayerParams


class LayerNormParams(LayerParams):
    epsilon: Epsilon = 1e-6


KIND = LayerKind("layernorm", LayerNormParams, __doc__, "normalisation")
