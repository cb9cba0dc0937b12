"""Concatenation of two or more inputs along `axis` (default the last); the other axes must agree.
"""

from dslc.spec.layers.base import Arity, LayerKind, LayerParams


class ConcatParams(LayerParams):
    axis: int = -1


KIND = LayerKind("concat", ConcatParams, __doc__, "merge", positional=("axis",), arity=Arity.MERGE)
