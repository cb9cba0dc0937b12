"""Transformer encoder block: `(time, features) -> (time, features)`.

Self-attention with `heads` heads and a `mlp_dim` feed-forward network, each
wrapped in a residual connection and layer normalisation (`norm_first: true`
is the pre-norm variant). `activation` is the feed-forward non-linearity.
"""

from typing import Literal

from dslc.spec.layers.base import LayerKind, LayerParams, PositiveInt, Rate


class TransformerEncoderParams(LayerParams):
    heads: PositiveInt
    mlp_dim: PositiveInt
    dropout: Rate = 0.0
    causal: bool = False
    norm_first: bool = True
    activation: Literal["relu", "gelu", "silu"] = "gelu"


KIND = LayerKind("transformer_encoder", TransformerEncoderParams, __doc__, "attention",
                 positional=("heads", "mlp_dim"))
