"""Fully connected layer: `(..., d) -> (..., units)`.

Multiplies the last axis by a `d x units` kernel and adds a bias. `activation`
fuses an activation after it.
"""

from dslc.spec.layers.base import Activation, LayerKind, LayerParams, PositiveInt


class DenseParams(LayerParams):
    units: PositiveInt
    use_bias: bool = True
    activation: Activation | None = None


KIND = LayerKind("dense", DenseParams, __doc__, "core", positional=("units",))
