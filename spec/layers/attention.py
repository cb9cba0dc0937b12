"""Multi-head self-attention: `(time, features) -> (time, features)`.

`heads` must divide `features`; `key_dim` (per head) defaults to
`features / heads`. `causal: true` masks attention to later positions.
"""

from dslc.spec.layers.base import LayerKind, LayerParams, PositiveInt, Rate


class AttentionParams(LayerParams):
    heads: PositiveInt
    key_dim: PositiveInt | None = None
    dropout: Rate = 0.0
    causal: bool = False
    use_bias: bool = True


KIND = LayerKind("attention", AttentionParams, __doc__, "attention", positional=("heads",))
