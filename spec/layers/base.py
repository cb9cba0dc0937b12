"""What a layer kind is: one registry entry per kind.

An entry (`LayerKind`) holds everything dslc knows about a kind: its name, its
parameter model (pydantic, strict, unknown keys forbidden), which parameters
may be given positionally in the DSL, how many inputs it takes, and its
documentation. Later stages read their rules (shapes, cost, depth role, Flax
builder) from the same entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class LayerParams(BaseModel):
    """Base of every layer's parameters: strict types, no unknown keys, finite numbers, immutable."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)


class Arity(Enum):
    ONE = "one"      # a single input tensor
    MERGE = "merge"  # two or more input tensors


PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
Rate = Annotated[float, Field(ge=0.0, lt=1.0)]
Epsilon = Annotated[float, Field(gt=0.0, le=1.0)]
Momentum = Annotated[float, Field(ge=0.0, le=1.0)]
# One size for every spatial axis, or one per axis.
Window = PositiveInt | tuple[PositiveInt, ...]
# 'same', 'valid', or explicit (low, high) padding per spatial axis.
Padding = Literal["same", "valid"] | tuple[tuple[NonNegativeInt, NonNegativeInt], ...]

ACTIVATIONS = ("relu", "leaky_relu", "gelu", "silu", "tanh", "sigmoid", "softmax", "linear")
Activation = Literal["relu", "leaky_relu", "gelu", "silu", "tanh", "sigmoid", "softmax", "linear"]


@dataclass(frozen=True)
class LayerKind:
    """A registry entry. `doc` is the first paragraph shown in the README reference."""

    name: str
    params: type[LayerParams]
    doc: str
    category: str
    positional: tuple[str, ...] = ()
    arity: Arity = Arity.ONE

    def summary(self) -> str:
        return self.doc.strip().split("\n\n")[0].replace("\n", " ")
