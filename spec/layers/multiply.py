"""Element-wise product of two or more inputs of the same shape (a gate).

No broadcasting: the shapes must agree (an unknown size takes the other
inputs' known one). FLOPs: one per output element per input after the first.
A product of two data-dependent tensors is non-linear (D0 class N).
"""

from dslc.spec.layers._shapes import N, constant, merge_build, merge_cost, merge_infer
from dslc.spec.layers.base import Arity, LayerKind, LayerParams


class MultiplyParams(LayerParams):
    pass


KIND = LayerKind("multiply", MultiplyParams, __doc__, "merge", arity=Arity.MERGE,
                 infer=merge_infer, cost=merge_cost, classes=constant(N), build=merge_build("multiply"))
