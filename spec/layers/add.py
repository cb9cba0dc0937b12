"""Element-wise sum of two or more inputs of the same shape (a residual join).

No broadcasting: the shapes must agree (an unknown size takes the other
inputs' known one). FLOPs: one per output element per input after the first.
"""

from dslc.spec.layers._shapes import A, constant, merge_build, merge_cost, merge_infer
from dslc.spec.layers.base import Arity, LayerKind, LayerParams


class AddParams(LayerParams):
    pass


KIND = LayerKind("add", AddParams, __doc__, "merge", arity=Arity.MERGE,
                 infer=merge_infer, cost=merge_cost, classes=constant(A), build=merge_build("add"))
