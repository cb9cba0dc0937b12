"""Mixture-of-experts feed-forward layer: `(..., d) -> (..., d)`.

A router (a `d x experts` kernel, no bias) scores every position; the `top_k`
best experts process it and their outputs are summed with the routing weights,
Mixtral's: a softmax over all the logits, kept for the top k and renormalised
(the same as a softmax over the top-k logits). Each expert is an MLP `d ->
hidden -> d` without biases: `gated: true` (default) is SwiGLU/GeGLU,
`down(activation(gate(x)) * up(x))` as Mixtral, `gated: false` is
`down(activation(up(x)))` as Switch. Routing is dropless (no capacity: every
position gets its k experts). In training the load-balancing loss
`aux_weight * E * sum_e f_e * P_e` is added to the loss (`f_e`: the fraction of
positions routed to expert e among their top k, `P_e`: its mean router
probability; Mixtral's form, `k` when balanced).

The last axis `d` must be known. Parameters: every expert, `E * m * d * hidden`
(`m` = 3 gated, 2 plain), plus the router's `d * E`. FLOPs per position: the
router's `2 * d * E` and its softmax `3 * E`, then the `k` active experts only,
`k * (2 * m * d * hidden + hidden * a)` (`a`: the activation's FLOPs per
element, one more for the gate product when gated), and `2 * k * d` to combine.
MACs per position: `d * E + k * (m * d * hidden + d)`, the products alone.
D0 classes as a dense MLP: W N W.
"""

from typing import Annotated

from pydantic import Field

from dslc.spec.layers._shapes import N, W, expect_rank_between, known, one, prod, times, to_floating
from dslc.spec.layers.activations import ACTIVATIONS, Activation
from dslc.spec.layers.base import (
    Construct,
    Cost,
    LayerKind,
    LayerParams,
    NodeClass,
    PositiveInt,
    ShapeError,
    Tensor,
)


class MoeParams(LayerParams):
    experts: PositiveInt
    hidden: PositiveInt             # each expert's hidden width
    top_k: PositiveInt = 2          # experts per position
    gated: bool = True              # gated (SwiGLU) experts, as Mixtral; false: plain MLPs, as Switch
    activation: Activation = "silu"
    aux_weight: Annotated[float, Field(ge=0.0)] = 0.01  # of the load-balancing loss in the training loss


def _features(inputs: tuple[Tensor, ...], params: MoeParams) -> int:
    x = one(inputs)
    expect_rank_between(x, 1, None, "(..., features)")
    features = known(x, -1, "the feature axis (the last)")
    if params.top_k > params.experts:
        raise ShapeError("E503", f"top_k ({params.top_k}) must be at most the number of experts "
                                 f"({params.experts})", "top_k")
    return features


@to_floating
def infer(params: MoeParams, inputs: tuple[Tensor, ...]) -> Tensor:
    _features(inputs, params)
    return one(inputs)


def _matrices(params: MoeParams) -> int:
    """Weight matrices per expert: gate, up and down when gated; up and down otherwise."""
    return 3 if params.gated else 2


def cost(params: MoeParams, inputs: tuple[Tensor, ...], output: Tensor) -> Cost:
    d, e, h, k = _features(inputs, params), params.experts, params.hidden, params.top_k
    m = _matrices(params)
    per_element = ACTIVATIONS[params.activation].flops + (1 if params.gated else 0)
    router = 2 * d * e + ACTIVATIONS["softmax"].flops * e
    per_position = router + k * (2 * m * d * h + h * per_element) + 2 * k * d
    products = d * e + k * (m * d * h + d)  # the router, the chosen experts' matrices, their weighted sum
    positions = prod(one(inputs).shape[:-1])
    return Cost(params=e * m * d * h + d * e, flops=times(per_position, positions), macs=times(products, positions))


def classes(params: MoeParams) -> tuple[NodeClass, ...]:
    return (W, N, W)


def build(params: MoeParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
    return Construct("MixtureOfExperts", {"features": one(inputs).shape[-1], **params.model_dump(), "dtype": dtype})


KIND = LayerKind("moe", MoeParams, __doc__, "core", positional=("experts", "hidden"),
                 infer=infer, cost=cost, classes=classes, build=build)
