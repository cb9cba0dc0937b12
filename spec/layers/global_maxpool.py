"""Global max pooling: `(*spatial, channels) -> (channels)` (or `(1, ..., channels)` with `keepdims`).
"""

from dslc.spec.layers._pool import GlobalPoolParams, global_build, global_cost, global_infer
from dslc.spec.layers._shapes import N, constant
from dslc.spec.layers.base import LayerKind

KIND = LayerKind("global_maxpool", GlobalPoolParams, __doc__, "pooling",
                 build=global_build("max"),
                 infer=global_infer, cost=global_cost, classes=constant(N))
