"""Multi-head attention: `(time, features) -> (time, features)`, or cross-attention from two inputs.

With one input it is self-attention; with two (`from: [queries, memory]`) the queries come
from the first and the keys and values from the second, `(memory_time, memory_features)`.
`heads` query heads of `key_dim` features each (default `features / heads`); `kv_heads`
key/value heads shared by groups of query heads (grouped-query attention; 1 is multi-query;
default `heads`). `causal: true` masks later positions; `window: w` lets each position see
only the `w - 1` positions before it (and, without `causal`, the `w - 1` after it).
`qk_norm` RMS-normalises each query and key head (`epsilon`), as Qwen3 and OLMo 2 do.
`rope: <base>` adds rotary position embedding to the first `rope_fraction` of each query
and key head, `rope_style: halves` (Llama, GPT-NeoX, Qwen) or `interleaved` (GPT-J).
`use_bias` switches every projection's bias, `qkv_bias` and `out_bias` override it for the
query/key/value and the output projections. `dropout` drops attention weights in training.

Parameters, with `F` features, `M` memory features (`F` for self-attention), `H` heads,
`K` kv_heads and `d` key_dim: `F*H*d + 2*M*K*d + H*d*F`, plus `H*d + 2*K*d` with `qkv_bias`,
`F` with `out_bias`, `2*d` with `qk_norm`. FLOPs, with `T` queries and `S` keys:
`2*T*F*H*d + 4*S*M*K*d + 2*T*H*d*F + 4*T*S*H*d` (matrix products only; see `_attention`).
D0 classes: W, N (the softmax).
"""

from dslc.spec.layers._attention import SelfAttentionParams, attention_arguments, attention_cost, projections
from dslc.spec.layers._shapes import N, W, constant, to_floating
from dslc.spec.layers.base import Arity, Construct, Cost, LayerKind, Tensor


class AttentionParams(SelfAttentionParams):
    """The attention kind's own name for the shared options (schemas and messages name it)."""


@to_floating
def infer(params: AttentionParams, inputs: tuple[Tensor, ...]) -> Tensor:
    projections(params, inputs)
    return inputs[0]


def cost(params: AttentionParams, inputs: tuple[Tensor, ...], output: Tensor) -> Cost:
    weights, flops = attention_cost(params, inputs)
    return Cost(params=weights, flops=flops)


def build(params: AttentionParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
    return Construct("Attention", {**attention_arguments(params, inputs), "dtype": dtype})


KIND = LayerKind("attention", AttentionParams, __doc__, "attention", positional=("heads",),
                 arity=Arity.ONE_OR_TWO, infer=infer, cost=cost, classes=constant(W, N), build=build)
