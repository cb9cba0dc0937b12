"""Average pooling over the spatial axes: `(*spatial, channels) -> (*spatial', channels)`.

Works for 1-D, 2-D and 3-D inputs (the rank comes from the input). `stride`
defaults to `window`, `padding` to `valid`.
"""

from dslc.spec.layers._pool import PoolParams
from dslc.spec.layers.base import LayerKind

KIND = LayerKind("avgpool", PoolParams, __doc__, "pooling", positional=("window",))
