"""Global average pooling: `(*spatial, channels) -> (channels)` (or `(1, ..., channels)` with `keepdims`).
"""

from dslc.spec.layers._pool import GlobalPoolParams, global_cost, global_infer
from dslc.spec.layers._shapes import A, constant
from dslc.spec.layers.base import LayerKind

KIND = LayerKind("global_avgpool", GlobalPoolParams, __doc__, "pooling",
                 infer=global_infer, cost=global_cost, classes=constant(A))
