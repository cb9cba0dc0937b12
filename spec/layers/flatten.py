"""Flattens every axis but the batch axis: `(d1, ..., dn) -> (d1 * ... * dn)`.

The size is unknown if any input size is. No parameters, no FLOPs.
"""

from dslc.spec.layers._shapes import A, constant, free, free_build, one, prod
from dslc.spec.layers.base import LayerKind, LayerParams, Tensor


class FlattenParams(LayerParams):
    pass


def infer(params: FlattenParams, inputs: tuple[Tensor, ...]) -> Tensor:
    x = one(inputs)
    return Tensor((prod(x.shape),), x.dtype)


KIND = LayerKind("flatten", FlattenParams, __doc__, "shape", infer=infer, cost=free, classes=constant(A),
                 build=free_build("Flatten"))
