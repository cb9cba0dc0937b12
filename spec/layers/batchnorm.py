"""Batch normalisation over the last axis, with running statistics for inference. Shape unchanged.
"""

from dslc.spec.layers.base import Epsilon, LayerKind, LayerParams, Momentum


class BatchNormParams(LayerParams):
    momentum: Momentum = 0.99
    epsilon: Epsilon = 1e-5


KIND = LayerKind("batchnorm", BatchNormParams, __doc__, "normalisation")
