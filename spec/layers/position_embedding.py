"""Learned position embedding: adds row `t` of a `positions x d` table to position `t` of a `(time, d)` input.

Shape unchanged. `time` must be at most `positions` (a shorter sequence uses the
first `time` rows, E503 otherwise); an unknown `time` is accepted, and a
sequence longer than `positions` then fails when the model runs. The
feature axis `d` must be known. Parameters: `positions * d`. FLOPs: one per
element (the addition). Adding a learned constant is affine (D0 class A).
"""

from dslc.spec.layers._attention import sequence
from dslc.spec.layers._shapes import A, constant, elements, show_shape, to_floating
from dslc.spec.layers.base import Construct, Cost, LayerKind, LayerParams, PositiveInt, ShapeError, Tensor


class PositionEmbeddingParams(LayerParams):
    positions: PositiveInt


@to_floating
def infer(params: PositionEmbeddingParams, inputs: tuple[Tensor, ...]) -> Tensor:
    x, _ = sequence(inputs)
    time = x.shape[0]
    if time is not None and time > params.positions:
        raise ShapeError("E503", f"input {show_shape(x.shape)} has {time} positions, more than the table's "
                                 f"{params.positions}", "positions")
    return x


def cost(params: PositionEmbeddingParams, inputs: tuple[Tensor, ...], output: Tensor) -> Cost:
    _, features = sequence(inputs)
    return Cost(params=params.positions * features, flops=elements(output))


def build(params: PositionEmbeddingParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
    _, features = sequence(inputs)
    return Construct("PositionEmbedding", {"positions": params.positions, "features": features, "dtype": dtype})


KIND = LayerKind("position_embedding", PositionEmbeddingParams, __doc__, "embedding", positional=("positions",),
                 infer=infer, cost=cost, classes=constant(A), build=build)
