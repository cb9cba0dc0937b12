"""Transformer encoder block: `(time, features) -> (time, features)`.

Self-attention with `heads` heads and a `mlp_dim` feed-forward network, each
wrapped in a residual connection and layer normalisation (`norm_first: true`
is the pre-norm variant). `activation` is the feed-forward non-linearity.

`features` (`F`) must be known and divisible by `heads`; the attention
projections are `F` wide. Parameters: the attention's `4 * (F*F + F)`, two
layer norms' `2 * F` each, and the feed-forward `F*mlp_dim + mlp_dim +
mlp_dim*F + F`. FLOPs per position: the attention's (see `_attention`), 5 per
element for each layer norm, `2 * (F*mlp_dim + mlp_dim*F)` for the
feed-forward, one per element for its activation and for each of the two
residual additions; unknown when `time` is. MACs: the attention's and the
feed-forward's products, half their FLOPs.

D0 classes, in order along the block's main path (attention is W then N for
its softmax, the feed-forward W N W, each layer norm N): pre-norm
`(N, W, N, N, W, N, W)`, post-norm `(W, N, N, W, N, W, N)`. The residual
connections are not nodes of their own.
"""

from typing import Literal

from dslc.spec.layers._attention import attention_flops, attention_params, heads_divide, sequence
from dslc.spec.layers._shapes import NORM_FLOPS, N, W, one, plus, times, to_floating
from dslc.spec.layers.base import Construct, Cost, LayerKind, LayerParams, NodeClass, PositiveInt, Rate, Tensor


class TransformerEncoderParams(LayerParams):
    heads: PositiveInt
    mlp_dim: PositiveInt
    dropout: Rate = 0.0
    causal: bool = False
    norm_first: bool = True
    activation: Literal["relu", "gelu", "silu"] = "gelu"


@to_floating
def infer(params: TransformerEncoderParams, inputs: tuple[Tensor, ...]) -> Tensor:
    x, _ = sequence(inputs)
    heads_divide(params.heads, x)
    return x


def cost(params: TransformerEncoderParams, inputs: tuple[Tensor, ...], output: Tensor) -> Cost:
    x, f = sequence(inputs)
    time = x.shape[0]
    m = params.mlp_dim
    weights = attention_params(f, f) + 2 * (2 * f) + (f * m + m) + (m * f + f)
    attention = attention_flops(time, f, f)
    per_position = 2 * NORM_FLOPS * f + 2 * (f * m + m * f) + m + 2 * f
    attention_macs = None if attention is None else attention // 2  # the attention's FLOPs are all products
    return Cost(params=weights, flops=plus(attention, times(time, per_position)),
                macs=plus(attention_macs, times(time, f * m + m * f)))


def classes(params: TransformerEncoderParams) -> tuple[NodeClass, ...]:
    attention, feed_forward = (W, N), (W, N, W)
    if params.norm_first:
        return (N, *attention, N, *feed_forward)
    return (*attention, N, *feed_forward, N)


def build(params: TransformerEncoderParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
    return Construct("TransformerEncoder", {"features": one(inputs).shape[-1], **params.model_dump(), "dtype": dtype})


KIND = LayerKind("transformer_encoder", TransformerEncoderParams, __doc__, "attention",
                 positional=("heads", "mlp_dim"), infer=infer, cost=cost, classes=classes,
                 build=build)
