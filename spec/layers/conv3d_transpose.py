"""3-D transposed convolution (learned upsampling).

`(depth, height, width, channels) -> (depth', height', width', filters)`.

With `stride: s` and `padding: same` each spatial size is multiplied by `s`.
`padding` defaults to `valid`.
"""

from dslc.spec.layers._conv import ConvTransposeParams
from dslc.spec.layers.base import LayerKind

KIND = LayerKind("conv3d_transpose", ConvTransposeParams, __doc__, "convolution",
                 positional=("filters", "kernel"))
