"""Global average pooling: `(*spatial, channels) -> (channels)` (or `(1, ..., channels)` with `keepdims`).
"""

from dslc.spec.layers._pool import GlobalPoolParams, global_build, global_cost, global_infer
from dslc.spec.layers._shapes import A, constant, to_floating
from dslc.spec.layers.base import LayerKind

KIND = LayerKind("global_avgpool", GlobalPoolParams, __doc__, "pooling",
                 build=global_build("avg"),
                 infer=to_floating(global_infer), cost=global_cost, classes=constant(A))
