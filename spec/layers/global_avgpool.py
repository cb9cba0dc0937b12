"""Global average pooling: `(*spatial, channels) -> (channels)` (or `(1, ..., channels)` with `keepdims`).
"""

from dslc.spec.layers._pool import GlobalPoolParams
from dslc.spec.layers.base import LayerKind

KIND = LayerKind("global_avgpool", GlobalPoolParams, __doc__, "pooling")
