"""Multi-head self-attention: `(time, features) -> (time, features)`.

`heads` must divide `features`; `key_dim` (per head) defaults to
`features / heads`. `causal: true` masks attention to later positions.

`features` must be known. Parameters (as Flax NNX's `MultiHeadAttention`),
with `F` features and `qkv = heads * key_dim`: `3 * (F*qkv + qkv) + qkv*F + F`,
the biases only with `use_bias`. FLOPs: see `_attention`. D0 classes: W, N
(the softmax).
"""

from dslc.spec.layers._attention import attention_flops, attention_params, heads_divide, sequence
from dslc.spec.layers._shapes import N, W, constant, to_floating
from dslc.spec.layers.base import Construct, Cost, LayerKind, LayerParams, PositiveInt, Rate, Tensor


class AttentionParams(LayerParams):
    heads: PositiveInt
    key_dim: PositiveInt | None = None
    dropout: Rate = 0.0
    causal: bool = False
    use_bias: bool = True


@to_floating
def infer(params: AttentionParams, inputs: tuple[Tensor, ...]) -> Tensor:
    x, _ = sequence(inputs)
    if params.key_dim is None:
        heads_divide(params.heads, x)
    return x


def _qkv(params: AttentionParams, features: int) -> int:
    return params.heads * params.key_dim if params.key_dim else features


def cost(params: AttentionParams, inputs: tuple[Tensor, ...], output: Tensor) -> Cost:
    x, features = sequence(inputs)
    time = x.shape[0]
    qkv = _qkv(params, features)
    return Cost(params=attention_params(features, qkv, params.use_bias), flops=attention_flops(time, features, qkv))


def build(params: AttentionParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
    _, features = sequence(inputs)
    return Construct("Attention", {"in_features": features, "heads": params.heads,
                                   "qkv_features": _qkv(params, features), "dropout": params.dropout,
                                   "causal": params.causal, "use_bias": params.use_bias, "dtype": dtype})


KIND = LayerKind("attention", AttentionParams, __doc__, "attention", positional=("heads",),
                 infer=infer, cost=cost, classes=constant(W, N), build=build)
