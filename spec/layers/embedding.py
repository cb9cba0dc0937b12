"""Embedding lookup: integer ids `(...) -> (..., dim)`, with `vocab` rows in the table.

The ids must have an integer dtype (`int32`, `int64` or `uint8`); the output
is `float32`. Parameters: `vocab * dim`. A lookup costs no FLOPs. `embedding_init`
(with `embedding_std` or `embedding_value`) initialises the table, e.g. GPT-2's
`normal` with std 0.02 (the default is Flax's: normal with std `1 / sqrt(dim)`).
"""

from dslc.spec.layers._init import Initialised, Initializer, Std, init_arguments
from dslc.spec.layers._shapes import INTEGER_DTYPES, W, constant, one, show_shape
from dslc.spec.layers.base import Construct, Cost, LayerKind, PositiveInt, ShapeError, Tensor


class EmbeddingParams(Initialised):
    vocab: PositiveInt
    dim: PositiveInt
    embedding_init: Initializer | None = None
    embedding_std: Std | None = None
    embedding_value: float | None = None


def infer(params: EmbeddingParams, inputs: tuple[Tensor, ...]) -> Tensor:
    x = one(inputs)
    if x.dtype not in INTEGER_DTYPES:
        raise ShapeError("E505", f"expects integer ids ({', '.join(INTEGER_DTYPES)}), got {x.dtype} "
                                 f"input {show_shape(x.shape)}")
    return Tensor((*x.shape, params.dim), "float32")


def cost(params: EmbeddingParams, inputs: tuple[Tensor, ...], output: Tensor) -> Cost:
    return Cost(params=params.vocab * params.dim)


def build(params: EmbeddingParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
    return Construct("Embedding", {"vocab": params.vocab, "dim": params.dim, "dtype": dtype,
                                   **init_arguments(params, "embedding")})


KIND = LayerKind("embedding", EmbeddingParams, __doc__, "core", positional=("vocab", "dim"),
                 infer=infer, cost=cost, classes=constant(W), build=build)
