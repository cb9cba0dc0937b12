"""Reshapes every axis but the batch axis: `(d1, ..., dn) -> shape`.

One entry of `shape` may be `-1`, inferred from the others. The element count
must not change. When the input has an unknown size, a `-1` entry is unknown
too, and a count that cannot be checked is trusted. No parameters, no FLOPs.
"""

import math
from typing import Annotated

from pydantic import Field

from dslc.spec.layers._shapes import A, constant, free, free_build, one, prod, show_shape
from dslc.spec.layers.base import LayerKind, LayerParams, ShapeError, Tensor
from dslc.spec.limits import count_text
from dslc.spec.vocab import MAX_RANK


class ReshapeParams(LayerParams):
    shape: tuple[Annotated[int, Field(ge=-1)], ...] = Field(min_length=1, max_length=MAX_RANK)


def infer(params: ReshapeParams, inputs: tuple[Tensor, ...]) -> Tensor:
    x, target = one(inputs), params.shape
    if target.count(-1) > 1 or 0 in target:
        raise ShapeError("E503", f"shape {show_shape(target)} may hold one -1 and no 0", "shape")
    fixed = math.prod(dim for dim in target if dim != -1)
    count = prod(x.shape)
    if count is None:  # only the known part of the input can be checked
        known_part = math.prod(dim for dim in x.shape if dim is not None)
        if -1 not in target and fixed % known_part:
            raise ShapeError("E503", f"cannot reshape {show_shape(x.shape)} to {show_shape(target)}: "
                                     f"{count_text(fixed)} elements is not a multiple of {count_text(known_part)}",
                             "shape")
        return Tensor(tuple(None if dim == -1 else dim for dim in target), x.dtype)
    if (count % fixed) if -1 in target else (count != fixed):
        raise ShapeError("E503", f"cannot reshape {show_shape(x.shape)} ({count_text(count)} elements) to "
                                 f"{show_shape(target)}", "shape")
    return Tensor(tuple(count // fixed if dim == -1 else dim for dim in target), x.dtype)


KIND = LayerKind("reshape", ReshapeParams, __doc__, "shape", positional=("shape",),
                 infer=infer, cost=free, classes=constant(A), build=free_build("Reshape"))
