"""Element-wise activations as layers: the shape is unchanged.

Each is also available as the `activation:` shorthand of dense, convolution
and recurrent layers. One module holds them all because they share one shape
rule and (but for two) no parameters.
"""

from typing import Annotated

from pydantic import Field

from dslc.spec.layers.base import LayerKind, LayerParams


class NoParams(LayerParams):
    pass


class LeakyReluParams(LayerParams):
    negative_slope: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.01


class GeluParams(LayerParams):
    approximate: bool = False


class SoftmaxParams(LayerParams):
    axis: int = -1


KINDS = (
    LayerKind("relu", NoParams, "Rectified linear unit, `max(x, 0)`: shape unchanged.", "activation"),
    LayerKind("leaky_relu", LeakyReluParams, "Leaky ReLU, `x if x > 0 else negative_slope * x`: shape unchanged.",
              "activation", positional=("negative_slope",)),
    LayerKind("gelu", GeluParams, "Gaussian error linear unit (`approximate`: tanh form): shape unchanged.",
              "activation"),
    LayerKind("silu", NoParams, "SiLU / swish, `x * sigmoid(x)`: shape unchanged.", "activation"),
    LayerKind("tanh", NoParams, "Hyperbolic tangent: shape unchanged.", "activation"),
    LayerKind("sigmoid", NoParams, "Logistic sigmoid: shape unchanged.", "activation"),
    LayerKind("softmax", SoftmaxParams, "Softmax along `axis` (default the last): shape unchanged.", "activation",
              positional=("axis",)),
)
