"""Batch normalisation over the last axis, with running statistics for inference. Shape unchanged.

The last axis (`c` features) must have a known size. Parameters: `2 * c`
(scale and bias); batch statistics: `2 * c` (running mean and variance).
FLOPs: 5 per element. At inference it is affine (D0 class A).

`momentum` is the running averages' decay, as in Keras and Flax:
`running = momentum * running + (1 - momentum) * batch` (PyTorch's
`momentum` is one minus this).
"""

from dslc.spec.layers._shapes import A, constant, norm_build, norm_cost, over_features
from dslc.spec.layers.base import Epsilon, LayerKind, LayerParams, Momentum


class BatchNormParams(LayerParams):
    momentum: Momentum = 0.99
    epsilon: Epsilon = 1e-5


KIND = LayerKind("batchnorm", BatchNormParams, __doc__, "normalisation",
                 infer=over_features, cost=norm_cost(with_statistics=True), classes=constant(A),
                 build=norm_build("BatchNorm"))
