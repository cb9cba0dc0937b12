"""Transformer decoder block (GPT, Llama, Qwen, GPT-J): `(time, features) -> (time, features)`.

Pre-norm self-attention and a feed-forward network, each in a residual connection:
`x + attn(norm(x))`, then `x + mlp(norm(x))`; `parallel: true` sums both branches on one
input instead, `x + attn(norm1(x)) + mlp(norm2(x))` (GPT-NeoX), with `shared_norm: true`
one norm for both (GPT-J). Attention takes every option of the `attention` kind (`heads`,
`key_dim`, `kv_heads`, `qk_norm`, `rope`, `rope_fraction`, `rope_style`, `window`,
`use_bias`, `qkv_bias`, `out_bias`) and is `causal` by default. The feed-forward is
`features -> mlp_dim -> features` with `activation` (default `gelu`), or with `gated: true`
the gated `gated_mlp` (default `silu`: SwiGLU); `mlp_bias` (default `use_bias`) gives it biases. `norm`
is `layernorm` or `rmsnorm`, with `epsilon` (also the query/key norms'). `dropout` drops
attention weights and each branch's output in training.

`features` (`F`) must be known. Parameters: the attention's (see `attention`), each norm's
(`2*F` for layernorm, `F` for rmsnorm; two norms unless `shared_norm`) and the feed-forward's:
plain `2*F*mlp_dim` plus `mlp_dim + F` biases, gated `3*F*mlp_dim` plus `2*mlp_dim + F`.
FLOPs: the attention's, 5 per element for each norm, the feed-forward's (plain
`2*2*F*mlp_dim + mlp_dim` per position, gated as `gated_mlp`), and one per element for
each of the two residual additions; unknown when `time` is.

D0 classes along the main path (norms N, attention W N, feed-forward W N W): `(N, W, N, N, W,
N, W)`, parallel `(N, W, N, W)` (the feed-forward branch is the longer). The residual
connections are not nodes of their own.
"""

from typing import Literal

from dslc.spec.layers._attention import SelfAttentionParams, attention_arguments, attention_cost, sequence
from dslc.spec.layers._shapes import NORM_FLOPS, N, W, plus, times, to_floating
from dslc.spec.layers.base import Construct, Cost, Epsilon, LayerKind, NodeClass, PositiveInt, ShapeError, Tensor
from dslc.spec.layers.gated_mlp import gated_mlp_flops, gated_mlp_params

NormKind = Literal["layernorm", "rmsnorm"]
FeedForwardActivation = Literal["relu", "gelu", "gelu_tanh", "silu"]


class DecoderBlockParams(SelfAttentionParams):
    mlp_dim: PositiveInt
    causal: bool = True
    gated: bool = False
    activation: FeedForwardActivation | None = None  # gelu, or silu when gated
    mlp_bias: bool | None = None
    norm: NormKind = "layernorm"
    epsilon: Epsilon = 1e-5
    parallel: bool = False
    shared_norm: bool = False


@to_floating
def infer(params: DecoderBlockParams, inputs: tuple[Tensor, ...]) -> Tensor:
    attention_cost(params, inputs)  # checks the attention's options against the input
    if params.shared_norm and not params.parallel:
        raise ShapeError("E503", "shared_norm shares one norm between parallel branches; it needs parallel: true",
                         "shared_norm")
    return inputs[0]


def _mlp_bias(params: DecoderBlockParams) -> bool:
    return params.use_bias if params.mlp_bias is None else params.mlp_bias


def _activation(params: DecoderBlockParams) -> str:
    return params.activation or ("silu" if params.gated else "gelu")


def norm_count(params: DecoderBlockParams) -> int:
    return 1 if params.shared_norm else 2


def cost(params: DecoderBlockParams, inputs: tuple[Tensor, ...], output: Tensor) -> Cost:
    x, f = sequence(inputs)
    m, bias = params.mlp_dim, _mlp_bias(params)
    attention_weights, attention_flops = attention_cost(params, inputs)
    if params.gated:
        mlp_weights, mlp_flops = gated_mlp_params(f, m, bias), gated_mlp_flops(f, m)
    else:
        mlp_weights, mlp_flops = 2 * f * m + (m + f if bias else 0), 2 * 2 * f * m + m
    norm_weights = (2 * f if params.norm == "layernorm" else f) * norm_count(params)
    per_position = norm_count(params) * NORM_FLOPS * f + mlp_flops + 2 * f
    return Cost(params=attention_weights + norm_weights + mlp_weights,
                flops=plus(attention_flops, times(x.shape[0], per_position)))


def classes(params: DecoderBlockParams) -> tuple[NodeClass, ...]:
    feed_forward = (W, N, W)
    if params.parallel:
        return (N, *feed_forward)
    return (N, W, N, N, *feed_forward)


def build(params: DecoderBlockParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
    return Construct("DecoderBlock", {**attention_arguments(params, inputs), "mlp_dim": params.mlp_dim,
                                      "gated": params.gated, "activation": _activation(params),
                                      "mlp_bias": _mlp_bias(params), "norm": params.norm,
                                      "parallel": params.parallel, "shared_norm": params.shared_norm,
                                      "dtype": dtype})


KIND = LayerKind("decoder_block", DecoderBlockParams, __doc__, "attention", positional=("heads", "mlp_dim"),
                 infer=infer, cost=cost, classes=classes, build=build)
