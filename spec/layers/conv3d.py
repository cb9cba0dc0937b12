"""3-D convolution over channels-last input: `(depth, height, width, channels) -> (depth', height', width', filters)`.

`kernel`, `stride` and `dilation` take one size or one per spatial axis.
`padding` is `valid` (the default: no padding), `same`, or explicit
`[[low, high], ...]` per spatial axis. `groups: depthwise` convolves each
channel on its own.
"""

from dslc.spec.layers._conv import ConvParams
from dslc.spec.layers.base import LayerKind

KIND = LayerKind("conv3d", ConvParams, __doc__, "convolution", positional=("filters", "kernel"))
