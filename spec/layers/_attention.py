"""Rules shared by multi-head self-attention and the transformer encoder block.

Input `(time, features)`, output the same shape; `features` (`F`) must be
known, `time` (`T`) may be unknown. With `qkv` the width of the query, key
and value projections (`heads * key_dim`), counted as Flax NNX's
`MultiHeadAttention` holds them:

- parameters `3 * (F*qkv + qkv)` (query, key, value) `+ qkv*F + F` (output),
  the biases only with `use_bias`;
- FLOPs `2*T*(3*F*qkv + qkv*F)` for the projections plus `2*2*T*T*qkv` for
  the scores and the weighted sum (the softmax, masking and scaling are not
  counted); unknown when `T` is.
"""

from dslc.spec.layers._shapes import expect_rank, known, one, show_shape
from dslc.spec.layers.base import Dim, ShapeError, Tensor


def sequence(inputs: tuple[Tensor, ...]) -> tuple[Tensor, int]:
    """The input and its features, checked: rank 2 (E504), features known (E506)."""
    x = one(inputs)
    expect_rank(x, 2, "(time, features)")
    return x, known(x, -1, "the feature axis (the last)")


def heads_divide(heads: int, x: Tensor) -> None:
    features = known(x, -1, "the feature axis (the last)")
    if features % heads:
        raise ShapeError("E503", f"heads ({heads}) must divide the features ({features}), input {show_shape(x.shape)}",
                         "heads")


def attention_params(features: int, qkv: int, use_bias: bool = True) -> int:
    return 3 * (features * qkv + (qkv if use_bias else 0)) + qkv * features + (features if use_bias else 0)


def attention_flops(time: Dim, features: int, qkv: int) -> Dim:
    if time is None:
        return None
    return 2 * time * (3 * features * qkv + qkv * features) + 2 * 2 * time * time * qkv
