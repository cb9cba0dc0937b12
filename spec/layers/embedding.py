"""Embedding lookup: integer ids `(...) -> (..., dim)`, with `vocab` rows in the table.
"""

from dslc.spec.layers.base import LayerKind, LayerParams, PositiveInt


class EmbeddingParams(LayerParams):
    vocab: PositiveInt
    dim: PositiveInt


KIND = LayerKind("embedding", EmbeddingParams, __doc__, "core", positional=("vocab", "dim"))
