"""What a layer kind is: one registry entry per kind.

An entry (`LayerKind`) holds everything dslc knows about a kind: its name, its
parameter model (pydantic, strict, unknown keys forbidden), which parameters
may be given positionally in the DSL, how many inputs it takes, its
documentation, its shape rule, its cost (parameters, batch statistics, FLOPs)
and its classes for the depth analysis. The compiler reads its Flax builder
from the same entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Literal

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


class NodeClass(Enum):
    """D0 (docs/depth.md#d0-node-classes): what a node is at inference time."""

    W = "weighted"    # a learned mixing map: dense, conv, embedding, recurrent, attention
    N = "non-linear"  # activations but linear, max pooling, per-example norms, products of two tensors
    A = "affine"      # affine or identity at inference: dropout, reshape, batch norm, average pooling, add, concat


Dim = int | None  # None: a size unknown until run time (e.g. a sequence length)
Shape = tuple[Dim, ...]


def show_shape(shape: Shape, *, compact: bool = False, python_tuple: bool = False) -> str:
    """The one way dslc writes a shape: `(8, 8, 16)`, an unknown dimension as `?`.

    `compact`: `8x8x16`, `()` for a scalar (graph labels, diff tables); `python_tuple`: a
    rank-1 shape as `(8,)`, as numpy writes the shapes of arrays a user gave.
    """
    dims = ["?" if dim is None else str(dim) for dim in shape]
    if compact:
        return "x".join(dims) or "()"
    return "(" + ", ".join(dims) + ("," if python_tuple and len(dims) == 1 else "") + ")"


def show_array_shape(shape: Shape) -> str:
    """An array's shape as numpy writes it (`(8,)` for rank 1): for the arrays a user gives."""
    return show_shape(shape, python_tuple=True)


def prod(dims: Iterable[Dim]) -> Dim:
    """The product of `dims`, `None` if any is unknown (1 for none)."""
    total = 1
    for dim in dims:
        if dim is None:
            return None
        total *= dim
    return total


def plus(*terms: Dim) -> Dim:
    """A sum of counts, unknown if any term is."""
    total = 0
    for term in terms:
        if term is None:
            return None
        total += term
    return total


@dataclass(frozen=True)
class Tensor:
    """What flows along an edge of the graph; `shape` excludes the batch axis."""

    shape: Shape
    dtype: str = "float32"

    @property
    def size(self) -> Dim:
        """Elements per example; `None` when a dimension is unknown."""
        return prod(self.shape)


class ShapeError(Exception):
    """A shape rule's complaint; the analysis locates it at the layer (or at `param` when given)."""

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param


@dataclass(frozen=True)
class Cost:
    """Per example: learned parameters, batch statistics (not learned), FLOPs (a multiply-add is 2) and MACs.

    FLOP conventions: matrix products and convolutions count 2 per multiply-add, bias additions
    nothing. Element-wise layers count per output element: 1 for an activation (a fused
    `activation:` too), 3 for softmax, 5 for a normalisation, 1 per extra input of add and
    multiply; pooling 1 per window element. Dropout, flatten, reshape, concat and embedding
    lookups count 0. Recurrent cells and attention count their matrix products only
    (`_recurrent.py`, `_attention.py`). See `_shapes.py`.

    MACs are the multiply-accumulates of the matrix products and convolutions (the weighted
    products, attention's two included) and nothing else: element-wise work (activations,
    norms, merges, pooling, an element-wise `multiply`) is not a MAC. `macs=None` (the default)
    derives them: half the FLOPs of a kind classed weighted (W), whose FLOPs are all products,
    none for the others; a weighted kind with element-wise FLOPs too (a fused activation, the
    norms of a block) states its `macs`.
    """

    params: int = 0
    state: int = 0
    flops: int | None = 0  # None when an unknown dimension makes it unknowable
    macs: int | None = None  # None: derived from `flops` as above


@dataclass(frozen=True)
class Construct:
    """How to build a layer in Flax, as data: a module class of `spec/layers/_flax.py` and its arguments.

    The same description builds the in-memory model (`dslc.compiler.build`) and is printed as source
    in the ejected standalone Python file, so the two cannot disagree. `arguments` hold only Python
    literals (numbers, strings, booleans, None, tuples).
    """

    module: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class LayerKind:
    """A registry entry. `doc` is the first paragraph shown in the README reference.

    `infer(params, inputs) -> output` raises `ShapeError`; `cost(params, inputs, output)`
    gives the `Cost`; `classes(params)` gives the node's D0 classes in order (a dense layer
    with `activation: relu` is `(W, N)`); `recurrent` marks kinds that D4 unrolls in time.
    """

    name: str
    params: type[LayerParams]
    doc: str
    category: str
    positional: tuple[str, ...] = ()
    arity: Arity = Arity.ONE
    recurrent: bool = False
    infer: Callable[[Any, tuple[Tensor, ...]], Tensor] | None = None
    cost: Callable[[Any, tuple[Tensor, ...], Tensor], Cost] | None = None
    classes: Callable[[Any], tuple[NodeClass, ...]] | None = None
    build: Callable[[Any, tuple[Tensor, ...], str], Construct] | None = None  # (params, inputs, dtype)

    def summary(self) -> str:
        return self.doc.strip().split("\n\n")[0].replace("\n", " ")
