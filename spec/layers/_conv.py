"""Parameters shared by the convolution kinds (conv1d/2d/3d and their transposes)."""

from typing import Literal

from dslc.spec.layers.base import Activation, LayerParams, Padding, PositiveInt, Window


class ConvTransposeParams(LayerParams):
    filters: PositiveInt
    kernel: Window
    stride: Window = 1
    padding: Padding = "valid"
    dilation: Window = 1
    use_bias: bool = True
    activation: Activation | None = None


class ConvParams(ConvTransposeParams):
    # An integer splits channels into groups; 'depthwise' makes one group per input channel.
    groups: PositiveInt | Literal["depthwise"] = 1
