"""1-D transposed convolution (learned upsampling): `(length, channels) -> (length', filters)`.

With `stride: s` and `padding: same` each spatial size is multiplied by `s`.
`padding` defaults to `valid`.
"""

from dslc.spec.layers._conv import ConvTransposeParams
from dslc.spec.layers.base import LayerKind

KIND = LayerKind("conv1d_transpose", ConvTransposeParams, __doc__, "convolution",
                 positional=("filters", "kernel"))
