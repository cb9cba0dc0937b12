"""2-D transposed convolution (learned upsampling): `(height, width, channels) -> (height', width', filters)`.

With `stride: s` and `padding: same` each spatial size is multiplied by `s`.
`padding` defaults to `valid`.

Each spatial size `n` becomes `n * stride + max(e - stride, 0)` with `valid`
(`e = dilation * (kernel - 1) + 1`), `n * stride` with `same`, and
`(n - 1) * stride + low + high - e + 2` with explicit padding (as
`jax.lax.conv_transpose`). Parameters: `prod(kernel) * channels * filters`,
plus `filters` biases.
"""

from dslc.spec.layers._conv import ConvTransposeParams, transpose_build, transpose_cost, transpose_infer
from dslc.spec.layers._shapes import weighted
from dslc.spec.layers.base import LayerKind

KIND = LayerKind("conv2d_transpose", ConvTransposeParams, __doc__, "convolution",
                 positional=("filters", "kernel"),
                 infer=transpose_infer(2), cost=transpose_cost, classes=weighted,
                 build=transpose_build)
