"""Group normalisation: per example, the channels split into `groups` normalised together. Shape unchanged.

Input `(*spatial, c)`; `groups` must divide `c` (known). Each group's mean and
variance run over the spatial axes and its `c / groups` channels, then a scale
and a bias per channel apply. Parameters: `2 * c`. FLOPs: 5 per element.
Per-example statistics make it non-linear at inference (D0 class N).
"""

from dslc.spec.layers._shapes import N, constant, norm_build, norm_cost, one, over_features, show_shape
from dslc.spec.layers.base import Epsilon, LayerKind, LayerParams, PositiveInt, ShapeError, Tensor


class GroupNormParams(LayerParams):
    groups: PositiveInt
    epsilon: Epsilon = 1e-5


def infer(params: GroupNormParams, inputs: tuple[Tensor, ...]) -> Tensor:
    x = over_features(params, inputs)
    channels = one(inputs).shape[-1]
    if channels is not None and channels % params.groups:
        raise ShapeError("E503", f"groups ({params.groups}) must divide the channels ({channels}), "
                                 f"input {show_shape(x.shape)}", "groups")
    return x


KIND = LayerKind("groupnorm", GroupNormParams, __doc__, "normalisation", positional=("groups",),
                 infer=infer, cost=norm_cost(with_statistics=False), classes=constant(N),
                 build=norm_build("GroupNorm"))
