"""Dropout: zeroes a fraction `rate` of the elements while training; identity at inference. Shape unchanged.

No parameters; no FLOPs (it is the identity at inference).
"""

from dslc.spec.layers._shapes import A, constant, free, same_shape
from dslc.spec.layers.base import LayerKind, LayerParams, Rate


class DropoutParams(LayerParams):
    rate: Rate


KIND = LayerKind("dropout", DropoutParams, __doc__, "regularisation", positional=("rate",),
                 infer=same_shape, cost=free, classes=constant(A))
