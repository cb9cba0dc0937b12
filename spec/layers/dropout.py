"""Dropout: zeroes a fraction `rate` of the elements while training; identity at inference. Shape unchanged.

No parameters; no FLOPs (it is the identity at inference).
"""

from dslc.spec.layers._shapes import A, constant, free, free_build, same_shape, to_floating
from dslc.spec.layers.base import LayerKind, LayerParams, Rate


class DropoutParams(LayerParams):
    rate: Rate


KIND = LayerKind("dropout", DropoutParams, __doc__, "regularisation", positional=("rate",),
                 infer=to_floating(same_shape), cost=free, classes=constant(A), build=free_build("Dropout"))
