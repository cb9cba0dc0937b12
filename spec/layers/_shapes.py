"""Shape and cost arithmetic shared by the layer kinds' rules.

A dimension is an `int`, or `None` when it is unknown until run time (a
sequence length, say); arithmetic on an unknown gives an unknown, never a
guess. Shapes exclude the batch axis. Messages show shapes as `(8, 8, 16)`,
an unknown dimension as `?`.

Window arithmetic (convolutions and pooling), per spatial axis with size `n`,
kernel or window `k`, stride `s`, dilation `d` and effective size
`e = d*(k-1) + 1`, as `jax.lax` computes it:

- `valid`: `floor((n - e) / s) + 1`;
- `same`: `ceil(n / s)`;
- explicit `(lo, hi)`: `floor((n + lo + hi - e) / s) + 1`;
- a window larger than its padded input (`e > n + lo + hi`) is error E502.

Transposed convolutions (`jax.lax.conv_transpose`, as Flax's `ConvTranspose`
calls it): `valid` `n*s + max(e - s, 0)`; `same` `n*s`; explicit
`(n-1)*s + 1 + lo + hi - e + 1`, which must be at least 1.

Dtypes: a kind keeps its input's dtype, except that kinds with fractional
arithmetic (weights, averages, normalisation, every activation but relu,
dropout) turn a non-floating input (integers, bool) into `float32`, as JAX's
promotion does (`to_floating`). Embeddings output `float32`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from dslc.spec.layers.base import (  # noqa: F401 - prod, plus and show_shape are re-exported to the layer modules
    Construct,
    Cost,
    Dim,
    NodeClass,
    Padding,
    Shape,
    ShapeError,
    Tensor,
    plus,
    prod,
    show_shape,
)

# FLOPs per output element of the normalisations: mean, variance, subtract, divide,
# scale-and-shift (the activations' are in `activations.ACTIVATIONS`).
NORM_FLOPS = 5
INTEGER_DTYPES = ("int32", "int64", "uint8")
FLOAT_DTYPES = ("float32", "float16", "bfloat16")

W, N, A = NodeClass.W, NodeClass.N, NodeClass.A


# -- dimensions -------------------------------------------------------------------------------------
def times(*factors: Dim) -> Dim:
    """A product of counts, unknown if any factor is."""
    return prod(factors)


def elements(tensor: Tensor) -> Dim:
    return tensor.size


# -- checks ---------------------------------------------------------------------------------------
def one(inputs: tuple[Tensor, ...]) -> Tensor:
    """The input of a single-input kind (the graph checks the count)."""
    return inputs[0]


def expect_rank(tensor: Tensor, rank: int, axes: str) -> None:
    """E504 unless `tensor` has rank `rank`; `axes` names them, e.g. `(height, width, channels)`."""
    if len(tensor.shape) != rank:
        raise ShapeError("E504", f"expects input of rank {rank} {axes}, got {show_shape(tensor.shape)}")


def expect_rank_between(tensor: Tensor, low: int, high: int | None, axes: str) -> None:
    rank = len(tensor.shape)
    if rank < low or (high is not None and rank > high):
        span = f"at least {low}" if high is None else f"{low} to {high}"
        raise ShapeError("E504", f"expects input of rank {span} {axes}, got {show_shape(tensor.shape)}")


def known(tensor: Tensor, axis: int, what: str) -> int:
    """The size of `axis`, or E506 when it is unknown (e.g. the features a weight matrix needs)."""
    dim = tensor.shape[axis]
    if dim is None:
        raise ShapeError("E506", f"needs a known size for {what}, got {show_shape(tensor.shape)}")
    return dim


def batch_axis(axis: int) -> int:
    """A spec `axis` (counted after the batch axis) as an axis of the batched array."""
    return axis + 1 if axis >= 0 else axis


def axis_index(axis: int, rank: int, shape: Shape, param: str = "axis") -> int:
    """`axis` (counted after the batch axis; negative from the end) as an index, E503 if out of range."""
    if not -rank <= axis < rank:
        raise ShapeError("E503", f"axis {axis} is out of range for input of rank {rank} {show_shape(shape)}", param)
    return axis % rank


def unify(shapes: list[Shape], skip: int | None = None, what: str = "have the same shape") -> Shape:
    """One shape from several that must agree (E501), but on axis `skip`; an unknown dim takes a known one."""
    first = shapes[0]
    merged = list(first)
    for other in shapes[1:]:
        if len(other) != len(first):
            raise ShapeError("E501", f"inputs must have the same rank: {show_shape(first)} and {show_shape(other)}")
        for i, dim in enumerate(other):
            if i == skip or dim is None:
                continue
            if merged[i] is None:
                merged[i] = dim
            elif merged[i] != dim:
                raise ShapeError("E501", f"inputs must {what}: {show_shape(first)} and {show_shape(other)}")
    return tuple(merged)


# -- windows (convolution, pooling) -----------------------------------------------------------------
def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def per_axis(value: int | tuple[int, ...], count: int, param: str, shape: Shape) -> tuple[int, ...]:
    """One size per spatial axis: an int applies to every axis; a tuple must have one per axis (E503)."""
    if isinstance(value, int):
        return (value,) * count
    if len(value) != count:
        raise ShapeError("E503", f"{param} has {_count(len(value), 'size')} but the input {show_shape(shape)} has "
                                 f"{_count(count, 'spatial axis', 'spatial axes')}", param)
    return tuple(value)


def _size(kernel: int, dilation: int) -> str:
    return f"{kernel}" if dilation == 1 else f"{kernel} (dilated: {dilation * (kernel - 1) + 1})"


Pad = Literal["same", "valid"] | tuple[int, int]  # 'same', 'valid' or (low, high), for one axis


def edge_pairs(value: int | tuple[tuple[int, int], ...], count: int, param: str,
               shape: Shape) -> tuple[tuple[int, int], ...]:
    """(low, high) amounts per spatial axis (zero padding, cropping): an int is both ends of every axis."""
    if isinstance(value, int):
        return ((value, value),) * count
    if len(value) != count:
        raise ShapeError("E503", f"{param} has {_count(len(value), '(low, high) pair')} but the input "
                                 f"{show_shape(shape)} has {_count(count, 'spatial axis', 'spatial axes')}", param)
    return value


def pads(padding: Padding, count: int, shape: Shape) -> tuple[Pad, ...]:
    """A convolution's or pooling's padding per spatial axis: 'same', 'valid' or explicit (low, high) pairs."""
    if isinstance(padding, str):
        return (padding,) * count
    return edge_pairs(padding, count, "padding", shape)


def window_out(shape: Shape, sizes: tuple[int, ...], strides: tuple[int, ...], dilations: tuple[int, ...],
               padding: tuple[Pad, ...], param: str) -> tuple[Dim, ...]:
    """Output sizes of the spatial axes `shape[:-1]` under a convolution or pooling window."""
    out: list[Dim] = []
    for axis, (n, k, s, d, pad) in enumerate(zip(shape[:-1], sizes, strides, dilations, padding, strict=True)):
        if n is None:
            out.append(None)
        elif pad == "same":
            out.append(-(-n // s))
        else:
            lo, hi = pad if isinstance(pad, tuple) else (0, 0)
            effective, padded = d * (k - 1) + 1, n + lo + hi
            if effective > padded:
                room = f"{n}" if not (lo or hi) else f"{padded} with padding"
                raise ShapeError("E502", f"{param} of size {_size(k, d)} is larger than spatial axis {axis} of the "
                                         f"input {show_shape(shape)}, of size {room}", param)
            out.append((padded - effective) // s + 1)
    return tuple(out)


def transpose_out(shape: Shape, sizes: tuple[int, ...], strides: tuple[int, ...], dilations: tuple[int, ...],
                  padding: tuple[Pad, ...]) -> tuple[Dim, ...]:
    """Output sizes of the spatial axes `shape[:-1]` under a transposed convolution."""
    out: list[Dim] = []
    for axis, (n, k, s, d, pad) in enumerate(zip(shape[:-1], sizes, strides, dilations, padding, strict=True)):
        effective = d * (k - 1) + 1
        if n is None:
            out.append(None)
        elif pad == "same":
            out.append(n * s)
        elif not isinstance(pad, tuple):  # valid
            out.append(n * s + max(effective - s, 0))
        else:
            lo, hi = pad
            size = (n - 1) * s + 1 + lo + hi - effective + 1
            if size < 1:
                raise ShapeError("E502", f"kernel of size {_size(k, d)} is larger than spatial axis {axis} of the "
                                         f"input {show_shape(shape)}, of size {size + effective - 1} with stride and "
                                         f"padding", "kernel")
            out.append(size)
    return tuple(out)


# -- rules shared by many kinds ---------------------------------------------------------------------
def to_floating(infer: Callable[[Any, tuple[Tensor, ...]], Tensor]) -> Callable[[Any, tuple[Tensor, ...]], Tensor]:
    """The shape rule `infer`, with a non-floating output dtype made `float32` (the kind's arithmetic is fractional)."""

    def floating_infer(params: Any, inputs: tuple[Tensor, ...]) -> Tensor:
        output = infer(params, inputs)
        return output if output.dtype in FLOAT_DTYPES else Tensor(output.shape, "float32")

    return floating_infer


def same_shape(params: Any, inputs: tuple[Tensor, ...]) -> Tensor:
    """The shape rule of element-wise kinds: the output is the input."""
    return one(inputs)


def elementwise_cost(flops_per_element: int) -> Callable[[Any, tuple[Tensor, ...], Tensor], Cost]:
    """No parameters; `flops_per_element` FLOPs per output element."""

    def cost(params: Any, inputs: tuple[Tensor, ...], output: Tensor) -> Cost:
        return Cost(flops=times(flops_per_element, elements(output)))

    return cost


def free(params: Any, inputs: tuple[Tensor, ...], output: Tensor) -> Cost:
    """No parameters, no arithmetic (data movement only, or identity at inference)."""
    return Cost()


def constant(*classes: NodeClass) -> Callable[[Any], tuple[NodeClass, ...]]:
    """D0 classes that do not depend on the parameters."""
    return lambda params: classes


def fused(activation: str | None) -> tuple[NodeClass, ...]:
    """A fused `activation:` (but `linear`) adds a non-linearity after the layer."""
    return (N,) if activation not in (None, "linear") else ()


def weighted(params: Any) -> tuple[NodeClass, ...]:
    """W, then N for a fused activation: dense and convolution layers."""
    return (W, *fused(params.activation))


@to_floating
def over_features(params: Any, inputs: tuple[Tensor, ...]) -> Tensor:
    """The shape rule of per-feature layers (normalisations): shape unchanged, the last axis known."""
    x = one(inputs)
    expect_rank_between(x, 1, None, "(..., features)")
    known(x, -1, "the feature axis (the last)")
    return x


def norm_cost(with_statistics: bool) -> Callable[[Any, tuple[Tensor, ...], Tensor], Cost]:
    """A scale and a bias per feature (and a running mean and variance); `NORM_FLOPS` per element."""

    def cost(params: Any, inputs: tuple[Tensor, ...], output: Tensor) -> Cost:
        features = output.shape[-1] or 0
        return Cost(params=2 * features, state=2 * features if with_statistics else 0,
                    flops=times(NORM_FLOPS, elements(output)))

    return cost


def merge_infer(params: Any, inputs: tuple[Tensor, ...]) -> Tensor:
    """Element-wise merges (add, multiply): every input has the same shape (E501); no broadcasting."""
    return Tensor(unify([x.shape for x in inputs]), inputs[0].dtype)


def broadcast_infer(params: Any, inputs: tuple[Tensor, ...]) -> Tensor:
    """Element-wise merges that broadcast (multiply): inputs of one rank whose sizes agree on each axis or are 1.

    A size-1 axis stretches to the other inputs' size, as a squeeze-and-excitation gate `(1, 1, c)` scales
    `(h, w, c)`; ranks never grow (E501 when they differ), so a misplaced axis cannot broadcast silently.
    An unknown size stretched against 1 stays unknown.
    """
    first = inputs[0].shape
    merged = list(first)
    for other in (x.shape for x in inputs[1:]):
        if len(other) != len(first):
            raise ShapeError("E501", f"inputs must have the same rank: {show_shape(first)} and {show_shape(other)}")
        for i, dim in enumerate(other):
            if dim == 1:
                continue
            if merged[i] in (1, None):
                merged[i] = dim
            elif dim is not None and merged[i] != dim:  # a known size beats an unknown one
                raise ShapeError("E501", f"inputs must have the same size or 1 on each axis: {show_shape(first)} "
                                         f"and {show_shape(other)}")
    return Tensor(tuple(merged), inputs[0].dtype)


def merge_cost(params: Any, inputs: tuple[Tensor, ...], output: Tensor) -> Cost:
    """One FLOP per output element for each input after the first."""
    return Cost(flops=times(len(inputs) - 1, elements(output)))


def merge_build(op: str) -> Callable[[Any, tuple[Tensor, ...], str], Construct]:
    """Element-wise merges build `_flax.Merge` with `op` (add, multiply)."""
    return lambda params, inputs, dtype: Construct("Merge", {"op": op})


def norm_build(module: str) -> Callable[[Any, tuple[Tensor, ...], str], Construct]:
    """Normalisations build `module` over the input's last axis, with the kind's parameters as they are."""

    def build(params: Any, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
        return Construct(module, {"num_features": one(inputs).shape[-1], **params.model_dump(), "dtype": dtype})

    return build


def free_build(module: str) -> Callable[[Any, tuple[Tensor, ...], str], Construct]:
    """Kinds whose module takes their parameters as they are (no input facts, no dtype)."""
    return lambda params, inputs, dtype: Construct(module, params.model_dump())
