"""Embedding lookup: integer ids `(...) -> (..., dim)`, with `vocab` rows in the table.

The ids must have an integer dtype (`int32`, `int64` or `uint8`); the output
is `float32`. Parameters: `vocab * dim`. A lookup costs no FLOPs.
"""

from dslc.spec.layers._shapes import INTEGER_DTYPES, W, constant, one, show_shape
from dslc.spec.layers.base import Construct, Cost, LayerKind, LayerParams, PositiveInt, ShapeError, Tensor


class EmbeddingParams(LayerParams):
    vocab: PositiveInt
    dim: PositiveInt


def infer(params: EmbeddingParams, inputs: tuple[Tensor, ...]) -> Tensor:
    x = one(inputs)
    if x.dtype not in INTEGER_DTYPES:
        raise ShapeError("E505", f"expects integer ids ({', '.join(INTEGER_DTYPES)}), got {x.dtype} "
                                 f"input {show_shape(x.shape)}")
    return Tensor((*x.shape, params.dim), "float32")


def cost(params: EmbeddingParams, inputs: tuple[Tensor, ...], output: Tensor) -> Cost:
    return Cost(params=params.vocab * params.dim)


def build(params: EmbeddingParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
    return Construct("Embedding", {"vocab": params.vocab, "dim": params.dim, "dtype": dtype})


KIND = LayerKind("embedding", EmbeddingParams, __doc__, "core", positional=("vocab", "dim"),
                 infer=infer, cost=cost, classes=constant(W), build=build)
