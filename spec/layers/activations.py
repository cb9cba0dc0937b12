"""Element-wise activations, declared once: as layers (the shape is unchanged) and as the
`activation:` shorthand of dense, convolution and recurrent layers.

`ACTIVATIONS` is the one table: the validation (`Activation`), the layer kinds and their
reference lines (`KINDS`), and the FLOPs (`activation_flops`) read it. The Flax
implementations live in `_flax.FUNCTIONS`, which must stay self-contained (the ejected model
file copies it verbatim); a test keeps its names equal to this table's.

None has learned parameters. FLOPs: one per element, three for softmax (exponential, sum,
division), none for `linear` (the transcendental ones are not weighted more). Every one is
non-linear (D0 class N). Softmax's `axis` counts the axes after the batch axis (`0` is the
first of them, `-1` the last). All but relu turn integer input into `float32`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field

from dslc.spec.layers._shapes import (
    N,
    axis_index,
    batch_axis,
    constant,
    elements,
    elementwise_cost,
    one,
    same_shape,
    times,
    to_floating,
)
from dslc.spec.layers.base import Construct, Dim, LayerKind, LayerParams, Tensor

Activation = Literal["relu", "leaky_relu", "gelu", "gelu_tanh", "silu", "tanh", "sigmoid", "softmax", "relu6",
                     "hard_swish", "hard_sigmoid", "softplus", "linear"]


class NoParams(LayerParams):
    pass


class LeakyReluParams(LayerParams):
    negative_slope: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.01


class GeluParams(LayerParams):
    approximate: bool = False


class SoftmaxParams(LayerParams):
    axis: int = -1


def softmax_infer(params: SoftmaxParams, inputs: tuple[Tensor, ...]) -> Tensor:
    x = one(inputs)
    axis_index(params.axis, len(x.shape), x.shape)
    return x


@dataclass(frozen=True)
class ActivationEntry:
    """One activation. `doc` is None for the shorthand-only names (`linear`, the identity; `gelu_tanh`), which
    are no layer kinds."""

    flops: int  # per output element
    doc: str | None = None
    params: type[LayerParams] = NoParams
    positional: tuple[str, ...] = ()
    infer: Callable[[Any, tuple[Tensor, ...]], Tensor] = same_shape  # (params, inputs), as `LayerKind.infer`


ACTIVATIONS: dict[Activation, ActivationEntry] = {
    "relu": ActivationEntry(1, "Rectified linear unit, `max(x, 0)`: shape unchanged."),
    "leaky_relu": ActivationEntry(1, "Leaky ReLU, `x if x > 0 else negative_slope * x`: shape unchanged.",
                                  LeakyReluParams, positional=("negative_slope",)),
    "gelu": ActivationEntry(1, "Gaussian error linear unit (`approximate`: tanh form): shape unchanged.", GeluParams),
    "silu": ActivationEntry(1, "SiLU / swish, `x * sigmoid(x)`: shape unchanged."),
    "tanh": ActivationEntry(1, "Hyperbolic tangent: shape unchanged."),
    "sigmoid": ActivationEntry(1, "Logistic sigmoid: shape unchanged."),
    "softmax": ActivationEntry(3, "Softmax along `axis` (default the last): shape unchanged.", SoftmaxParams,
                               positional=("axis",), infer=softmax_infer),
    "relu6": ActivationEntry(1, "ReLU capped at 6, `min(max(x, 0), 6)` (MobileNet): shape unchanged."),
    "hard_swish": ActivationEntry(1, "Hard swish, `x * relu6(x + 3) / 6` (MobileNetV3): shape unchanged."),
    "hard_sigmoid": ActivationEntry(1, "Hard sigmoid, `relu6(x + 3) / 6` (MobileNetV3): shape unchanged."),
    "softplus": ActivationEntry(1, "Softplus, `log(1 + exp(x))`: shape unchanged."),
    # Shorthand only (`activation: gelu_tanh`); as a layer it is `gelu: {approximate: true}`.
    "gelu_tanh": ActivationEntry(1),
    "linear": ActivationEntry(0),
}


def activation_flops(activation: Activation | None, output: Tensor) -> Dim:
    """The FLOPs of a fused `activation:` over `output` (none without one)."""
    return times(ACTIVATIONS[activation or "linear"].flops, elements(output))


def _build(name: str) -> Callable[[LayerParams, tuple[Tensor, ...], str], Construct]:
    """`_flax.Activation(name, **options)`; softmax's `axis` becomes an axis of the batched array."""

    def build(params: LayerParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
        options = params.model_dump()
        if "axis" in options:
            options["axis"] = batch_axis(options["axis"])
        return Construct("Activation", {"name": name, **options})

    return build


def _kind(name: Activation, entry: ActivationEntry, doc: str) -> LayerKind:
    infer = entry.infer if name == "relu" else to_floating(entry.infer)
    return LayerKind(name, entry.params, doc, "activation", positional=entry.positional, infer=infer,
                     cost=elementwise_cost(entry.flops), classes=constant(N), build=_build(name))


KINDS = tuple(_kind(name, entry, entry.doc) for name, entry in ACTIVATIONS.items() if entry.doc is not None)
