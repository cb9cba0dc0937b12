"""Parameters shared by max and average pooling."""

from dslc.spec.layers.base import LayerParams, Padding, Window


class PoolParams(LayerParams):
    window: Window
    stride: Window | None = None  # defaults to the window
    padding: Padding = "valid"


class GlobalPoolParams(LayerParams):
    keepdims: bool = False
