"""Concatenation of two or more inputs along `axis` (default the last); the other axes must agree.

`axis` counts the axes after the batch axis (`0` is the first of them, `-1`
the last); the inputs must have the same rank. The joined axis is unknown if
any input's is. No parameters, no FLOPs.
"""

from dslc.spec.layers._shapes import A, axis_index, batch_axis, constant, free, plus, unify
from dslc.spec.layers.base import Arity, Construct, LayerKind, LayerParams, Tensor


class ConcatParams(LayerParams):
    axis: int = -1


def infer(params: ConcatParams, inputs: tuple[Tensor, ...]) -> Tensor:
    first = inputs[0].shape
    axis = axis_index(params.axis, len(first), first)
    shape = list(unify([x.shape for x in inputs], skip=axis, what=f"agree on every axis but axis {params.axis}"))
    shape[axis] = plus(*(x.shape[axis] for x in inputs))
    return Tensor(tuple(shape), inputs[0].dtype)


def build(params: ConcatParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
    return Construct("Concat", {"axis": batch_axis(params.axis)})


KIND = LayerKind("concat", ConcatParams, __doc__, "merge", positional=("axis",), arity=Arity.MERGE,
                 infer=infer, cost=free, classes=constant(A), build=build)
