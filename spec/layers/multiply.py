"""Element-wise product of two or more inputs of one rank, broadcasting size-1 axes (a gate).

On each axis the sizes agree or are 1: a squeeze-and-excitation gate `(1, 1, c)`
scales a feature map `(h, w, c)`. Ranks must agree (no implicit new axes); an
unknown size takes the other inputs' known one. FLOPs: one per output element
per input after the first. A product of two data-dependent tensors is
non-linear (D0 class N).
"""

from dslc.spec.layers._shapes import N, broadcast_infer, constant, merge_build, merge_cost
from dslc.spec.layers.base import Arity, LayerKind, LayerParams


class MultiplyParams(LayerParams):
    pass


KIND = LayerKind("multiply", MultiplyParams, __doc__, "merge", arity=Arity.MERGE,
                 infer=broadcast_infer, cost=merge_cost, classes=constant(N), build=merge_build("multiply"))
