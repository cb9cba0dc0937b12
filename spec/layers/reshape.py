"""Reshapes every axis but the batch axis: `(d1, ..., dn) -> shape`.

One entry of `shape` may be `-1`, inferred from the others. The element count
must not change.
"""

from typing import Annotated

from pydantic import Field

from dslc.spec.layers.base import LayerKind, LayerParams


class ReshapeParams(LayerParams):
    shape: tuple[Annotated[int, Field(ge=-1)], ...] = Field(min_length=1)


KIND = LayerKind("reshape", ReshapeParams, __doc__, "shape", positional=("shape",))
