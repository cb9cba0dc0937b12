"""Zero padding of the spatial axes: `(*spatial, channels) -> (*spatial', channels)`.

`padding` is one amount for both ends of every spatial axis, or `[[low, high],
...]` per axis; each size `n` becomes `n + low + high`. 1 to 3 spatial axes. No
parameters, no FLOPs (D0 class A).
"""

from typing import Annotated

from pydantic import Field

from dslc.spec.layers._shapes import A, constant, edge_pairs, expect_rank_between, free, one, plus
from dslc.spec.layers.base import Construct, LayerKind, LayerParams, NonNegativeInt, Tensor

AXES = "(*spatial, channels) with 1 to 3 spatial axes"
Edges = NonNegativeInt | Annotated[tuple[tuple[NonNegativeInt, NonNegativeInt], ...], Field(min_length=1)]


class ZeroPaddingParams(LayerParams):
    padding: Edges


def _pairs(params: ZeroPaddingParams, x: Tensor) -> tuple[tuple[int, int], ...]:
    return edge_pairs(params.padding, len(x.shape) - 1, "padding", x.shape)


def infer(params: ZeroPaddingParams, inputs: tuple[Tensor, ...]) -> Tensor:
    x = one(inputs)
    expect_rank_between(x, 2, 4, AXES)
    spatial = tuple(plus(n, lo, hi) for n, (lo, hi) in zip(x.shape[:-1], _pairs(params, x), strict=True))
    return Tensor((*spatial, x.shape[-1]), x.dtype)


def build(params: ZeroPaddingParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
    return Construct("ZeroPadding", {"padding": _pairs(params, one(inputs))})


KIND = LayerKind("zero_padding", ZeroPaddingParams, __doc__, "shape", positional=("padding",),
                 infer=infer, cost=free, classes=constant(A), build=build)
