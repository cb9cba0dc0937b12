"""Rules shared by the attention kinds (`attention`, `transformer_encoder`, `decoder_block`).

Queries come from an input `(T, F)`; keys and values from the same input (self-attention)
or from a second one, the memory `(S, M)` (cross-attention). `F` and `M` must be known, `T`
and `S` may be unknown. With `H` query heads, `K` key/value heads (`K` divides `H`; `K = 1`
is multi-query attention) of `d` features each, the projections hold:

- parameters `F*H*d` (query) `+ 2*M*K*d` (key, value) `+ H*d*F` (output), plus `H*d + 2*K*d`
  query/key/value biases with `qkv_bias` and `F` output biases with `out_bias`, plus `2*d`
  with `qk_norm` (one RMS scale for the queries and one for the keys, shared by the heads);
- FLOPs `2*T*F*H*d + 2*2*S*M*K*d + 2*T*H*d*F` for the projections plus `2*2*T*S*H*d` for the
  scores and the weighted sum (a causal mask or a window does not reduce them: every score is
  computed, then masked); the softmax, masking, scaling, rotary embedding and query/key norms
  are not counted. Unknown when `T` or `S` is.

Rotary position embedding rotates the first `rotary = fraction * d` features of each query
and key head (`rotary` must be even): `halves` pairs feature `i` with `i + rotary/2`
(Llama, GPT-NeoX, Qwen), `interleaved` pairs `2i` with `2i + 1` (GPT-J); pair `i` turns by
`position * base ** (-2i / rotary)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field

from dslc.spec.layers._shapes import expect_rank, known, plus, show_shape, times
from dslc.spec.layers.base import Dim, Epsilon, LayerParams, PositiveInt, Rate, ShapeError, Tensor

RotaryStyle = Literal["halves", "interleaved"]
Fraction = Annotated[float, Field(gt=0.0, le=1.0)]


class SelfAttentionParams(LayerParams):
    """The options of an attention layer, shared by every kind that holds one."""

    heads: PositiveInt
    key_dim: PositiveInt | None = None
    kv_heads: PositiveInt | None = None
    dropout: Rate = 0.0
    causal: bool = False
    window: PositiveInt | None = None
    qk_norm: bool = False
    epsilon: Epsilon = 1e-6
    rope: Annotated[float, Field(gt=0.0)] | None = None
    rope_fraction: Fraction = 1.0
    rope_style: RotaryStyle = "halves"
    use_bias: bool = True
    qkv_bias: bool | None = None
    out_bias: bool | None = None


@dataclass(frozen=True)
class Projections:
    """The widths of one attention layer's projections, resolved and checked."""

    features: int  # F: the queries' input and the output
    memory: int  # M: the keys' and values' input (F for self-attention)
    heads: int
    kv_heads: int
    head_dim: int
    qkv_bias: bool
    out_bias: bool
    qk_norm: bool

    @property
    def params(self) -> int:
        query, key_value, out = self.heads * self.head_dim, self.kv_heads * self.head_dim, self.heads * self.head_dim
        weights = self.features * query + 2 * self.memory * key_value + out * self.features
        biases = (query + 2 * key_value if self.qkv_bias else 0) + (self.features if self.out_bias else 0)
        return weights + biases + (2 * self.head_dim if self.qk_norm else 0)

    def flops(self, time: Dim, memory_time: Dim) -> Dim:
        query = self.heads * self.head_dim
        projections = plus(times(2, time, self.features, query), times(4, memory_time, self.memory,
                                                                      self.kv_heads * self.head_dim),
                           times(2, time, query, self.features))
        return plus(projections, times(4, time, memory_time, query))


def sequence(inputs: tuple[Tensor, ...]) -> tuple[Tensor, int]:
    """The (first) input and its features, checked: rank 2 (E504), features known (E506)."""
    x = inputs[0]
    expect_rank(x, 2, "(time, features)")
    return x, known(x, -1, "the feature axis (the last)")


def heads_divide(heads: int, x: Tensor) -> None:
    features = known(x, -1, "the feature axis (the last)")
    if features % heads:
        raise ShapeError("E503", f"heads ({heads}) must divide the features ({features}), input {show_shape(x.shape)}",
                         "heads")


def projections(params: SelfAttentionParams, inputs: tuple[Tensor, ...]) -> Projections:
    """The projection widths of `params` over `inputs` (queries, and optionally a memory), or a ShapeError."""
    x, features = sequence(inputs)
    memory = features
    if len(inputs) > 1:
        expect_rank(inputs[1], 2, "(time, features) for the memory (the second input)")
        memory = known(inputs[1], -1, "the memory's feature axis (the last)")
        for flag in ("causal", "window"):
            if getattr(params, flag):
                raise ShapeError("E503", f"'{flag}' masks positions of one sequence; it needs self-attention "
                                         "(one input), not cross-attention", flag)
    if params.key_dim is None:
        heads_divide(params.heads, x)
    head_dim = params.key_dim or features // params.heads
    kv_heads = params.kv_heads or params.heads
    if params.heads % kv_heads:
        raise ShapeError("E503", f"kv_heads ({kv_heads}) must divide heads ({params.heads})", "kv_heads")
    if params.rope is not None:
        rotary_features(params, head_dim)
    return Projections(features, memory, params.heads, kv_heads, head_dim,
                       params.use_bias if params.qkv_bias is None else params.qkv_bias,
                       params.use_bias if params.out_bias is None else params.out_bias, params.qk_norm)


def rotary_features(params: SelfAttentionParams, head_dim: int) -> int:
    """How many features of each head the rotary embedding turns: even, at least 2 (E503)."""
    rotary = round(params.rope_fraction * head_dim)
    if rotary < 2 or rotary % 2:
        raise ShapeError("E503", f"rope_fraction ({params.rope_fraction}) of the head size ({head_dim}) must be an "
                                 f"even number of features, at least 2, got {rotary}", "rope_fraction")
    return rotary


def attention_cost(params: SelfAttentionParams, inputs: tuple[Tensor, ...]) -> tuple[int, Dim]:
    """Parameters and FLOPs of the attention `params` describe over `inputs`."""
    widths = projections(params, inputs)
    memory = inputs[-1]
    return widths.params, widths.flops(inputs[0].shape[0], memory.shape[0])


def attention_arguments(params: SelfAttentionParams, inputs: tuple[Tensor, ...]) -> dict[str, object]:
    """The arguments of `_flax.Attention` for `params` over `inputs`."""
    widths = projections(params, inputs)
    return {"in_features": widths.features, "heads": widths.heads, "head_dim": widths.head_dim,
            "kv_heads": widths.kv_heads, "memory_features": widths.memory if len(inputs) > 1 else None,
            "qkv_bias": widths.qkv_bias, "out_bias": widths.out_bias, "causal": params.causal,
            "window": params.window, "qk_norm": params.qk_norm, "epsilon": params.epsilon,
            "rope": None if params.rope is None else (params.rope, rotary_features(params, widths.head_dim),
                                                      params.rope_style),
            "dropout": params.dropout}
