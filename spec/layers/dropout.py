"""Dropout: zeroes a fraction `rate` of the elements while training; identity at inference. Shape unchanged.
"""

from dslc.spec.layers.base import LayerKind, LayerParams, Rate


class DropoutParams(LayerParams):
    rate: Rate


KIND = LayerKind("dropout", DropoutParams, __doc__, "regularisation", positional=("rate",))
