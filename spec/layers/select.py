"""Token selection: the slice at `index` along `axis`, dropping that axis: `(time, d) -> (d)` by default.

`axis` counts after the batch axis (negative from the end); `index` may be
negative (from the end of the axis), and must fall inside the axis when its
size is known (E503). The dtype is kept. No parameters, no FLOPs; a
selection is linear (D0 class A).
"""

from dslc.spec.layers._shapes import A, axis_index, constant, expect_rank_between, free, one, show_shape
from dslc.spec.layers.base import Construct, LayerKind, LayerParams, ShapeError, Tensor


class SelectParams(LayerParams):
    index: int = 0
    axis: int = 0


def infer(params: SelectParams, inputs: tuple[Tensor, ...]) -> Tensor:
    x = one(inputs)
    expect_rank_between(x, 1, None, "(..., features)")
    axis = axis_index(params.axis, len(x.shape), x.shape)
    size = x.shape[axis]
    if size is not None and not -size <= params.index < size:
        raise ShapeError("E503", f"index {params.index} is out of range for axis {params.axis} of size {size} "
                                 f"(input {show_shape(x.shape)})", "index")
    return Tensor(x.shape[:axis] + x.shape[axis + 1:], x.dtype)


def build(params: SelectParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
    rank = len(one(inputs).shape)
    return Construct("Select", {"axis": axis_index(params.axis, rank, one(inputs).shape), "index": params.index})


KIND = LayerKind("select", SelectParams, __doc__, "shape", positional=("index",),
                 infer=infer, cost=free, classes=constant(A), build=build)
