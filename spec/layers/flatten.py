"""Flattens every axis but the batch axis: `(d1, ..., dn) -> (d1 * ... * dn)`.
"""

from dslc.spec.layers.base import LayerKind, LayerParams


class FlattenParams(LayerParams):
    pass


KIND = LayerKind("flatten", FlattenParams, __doc__, "shape")
