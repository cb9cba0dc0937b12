"""Element-wise product of two or more inputs of the same shape (a gate).
"""

from dslc.spec.layers.base import Arity, LayerKind, LayerParams


class MultiplyParams(LayerParams):
    pass


KIND = LayerKind("multiply", MultiplyParams, __doc__, "merge", arity=Arity.MERGE)
