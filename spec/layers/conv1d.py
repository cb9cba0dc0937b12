"""1-D convolution over channels-last input: `(length, channels) -> (length', filters)`.
`groups: depthwise` gives each input channel its own `filters / channels`
filters (a depthwise convolution, as MobileNet's); an integer `groups`
splits the channels into that many groups.

`kernel`, `stride` and `dilation` take one size or one per spatial axis.
`padding` is `valid` (the default: no padding), `same`, or explicit
`[[low, high], ...]` per spatial axis.

Each spatial size `n` becomes `floor((n - e) / stride) + 1` with `valid`
padding (`e = dilation * (kernel - 1) + 1`), `ceil(n / stride)` with `same`,
and `floor((n + low + high - e) / stride) + 1` with explicit padding.
Parameters: `prod(kernel) * channels / groups * filters`, plus `filters` biases.
"""

from dslc.spec.layers._conv import ConvParams, conv_build, conv_cost, conv_infer
from dslc.spec.layers._shapes import weighted
from dslc.spec.layers.base import LayerKind

KIND = LayerKind("conv1d", ConvParams, __doc__, "convolution", positional=("filters", "kernel"),
                 infer=conv_infer(1), cost=conv_cost, classes=weighted, build=conv_build)
