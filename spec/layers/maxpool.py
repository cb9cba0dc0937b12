"""Max pooling over the spatial axes: `(*spatial, channels) -> (*spatial', channels)`.

Works for 1-D, 2-D and 3-D inputs (the rank comes from the input). `stride`
defaults to `window`, `padding` to `valid`.

Each spatial size `n` becomes `floor((n - window) / stride) + 1` with `valid`
padding, `ceil(n / stride)` with `same`, and
`floor((n + low + high - window) / stride) + 1` with explicit padding;
`ceil_mode: true` rounds up instead of down (PyTorch's `ceil_mode`).
"""

from dslc.spec.layers._pool import PoolParams, pool_build, pool_cost, pool_infer
from dslc.spec.layers._shapes import N, constant
from dslc.spec.layers.base import LayerKind

KIND = LayerKind("maxpool", PoolParams, __doc__, "pooling", positional=("window",),
                 build=pool_build("max"),
                 infer=pool_infer, cost=pool_cost, classes=constant(N))
