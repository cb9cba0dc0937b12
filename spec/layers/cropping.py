"""Cropping of the spatial axes: `(*spatial, channels) -> (*spatial', channels)`.

`cropping` is one amount for both ends of every spatial axis, or `[[low,
high], ...]` per axis; each size `n` becomes `n - low - high`, which must stay
at least 1 (E502). U-Net crops the centre of a skip connection this way to meet
the upsampled path. 1 to 3 spatial axes. No parameters, no FLOPs (D0 class A).
"""

from dslc.spec.layers._shapes import A, constant, edge_pairs, expect_rank_between, free, one, show_shape
from dslc.spec.layers.base import Construct, Dim, LayerKind, LayerParams, ShapeError, Tensor
from dslc.spec.layers.zero_padding import AXES, Edges


class CroppingParams(LayerParams):
    cropping: Edges


def _pairs(params: CroppingParams, x: Tensor) -> tuple[tuple[int, int], ...]:
    return edge_pairs(params.cropping, len(x.shape) - 1, "cropping", x.shape)


def _cropped(axis: int, n: Dim, lo: int, hi: int, shape: tuple) -> Dim:
    if n is None:
        return None
    if lo + hi >= n:
        raise ShapeError("E502", f"cropping {lo} + {hi} leaves nothing of spatial axis {axis} of the input "
                                 f"{show_shape(shape)}, of size {n}", "cropping")
    return n - lo - hi


def infer(params: CroppingParams, inputs: tuple[Tensor, ...]) -> Tensor:
    x = one(inputs)
    expect_rank_between(x, 2, 4, AXES)
    spatial = tuple(_cropped(axis, n, lo, hi, x.shape)
                    for axis, (n, (lo, hi)) in enumerate(zip(x.shape[:-1], _pairs(params, x), strict=True)))
    return Tensor((*spatial, x.shape[-1]), x.dtype)


def build(params: CroppingParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
    return Construct("Cropping", {"cropping": _pairs(params, one(inputs))})


KIND = LayerKind("cropping", CroppingParams, __doc__, "shape", positional=("cropping",),
                 infer=infer, cost=free, classes=constant(A), build=build)
