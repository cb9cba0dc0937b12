"""Element-wise sum of two or more inputs of the same shape (a residual join).
"""

from dslc.spec.layers.base import Arity, LayerKind, LayerParams


class AddParams(LayerParams):
    pass


KIND = LayerKind("add", AddParams, __doc__, "merge", arity=Arity.MERGE)
