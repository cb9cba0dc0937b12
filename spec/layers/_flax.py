"""The Flax NNX modules that dslc builds models from: one small class per layer family.

Every class is built from Python literals (numbers, strings, booleans, None, tuples) plus
`rngs`, as a layer kind's `build` describes it (`base.Construct`), and is called as
`layer(*xs, train=...)`: `train` switches dropout on and batch norms to batch statistics
(updating their running averages). Arrays are batch-first and channels-last; shapes below
omit the batch axis `B`.

`dtype` names the compute dtype (`float32`, `bfloat16`); parameters are always float32
(Flax's `param_dtype`) and batch statistics too. Layers without parameters keep their
input's dtype, but those with fractional arithmetic turn integers into float32 (`floating`),
as dslc's analysis says.

This file is self-contained (jax, flax and the standard library only) because the
ejected standalone model file (`dslc compile`) copies it verbatim: do not import dslc here.
The registry never imports it (its name starts with `_`); `dslc.compiler.build` does.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any, Literal

import jax
import jax.numpy as jnp
from flax import nnx

Padding = Any  # 'same', 'valid', or ((low, high), ...) per spatial axis
Init = tuple[str, float | None] | None  # an initialiser (name, std or value), see `initializers`; None: Flax's
Position = int | jax.Array  # the position of a decode call's first token: a Python int or a traced scalar


def _gelu(x: jax.Array) -> jax.Array:
    return jax.nn.gelu(x, approximate=False)  # the exact form, as the spec's `gelu` defaults to


def _gelu_tanh(x: jax.Array) -> jax.Array:
    return jax.nn.gelu(x, approximate=True)  # GPT-2's `gelu_new`


def _linear(x: jax.Array) -> jax.Array:
    return x


# Module-level functions, never lambdas or partials built per layer: a cell keeps its
# activation as static data, and equal functions keep equal models' graph definitions equal.
FUNCTIONS = {"relu": jax.nn.relu, "leaky_relu": jax.nn.leaky_relu, "gelu": _gelu, "gelu_tanh": _gelu_tanh,
             "silu": jax.nn.silu, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid, "softmax": jax.nn.softmax,
             "relu6": jax.nn.relu6, "hard_swish": jax.nn.hard_swish, "hard_sigmoid": jax.nn.hard_sigmoid,
             "softplus": jax.nn.softplus, "linear": _linear}


def activate(x: jax.Array, name: str | None) -> jax.Array:
    """A fused `activation:` (None and `linear` are the identity; softmax is over the last axis)."""
    return x if name is None else FUNCTIONS[name](x)


def floating(x: jax.Array) -> jax.Array:
    """Integer (or bool) input as float32, for layers whose arithmetic is fractional (as dslc's analysis says)."""
    return x if jnp.issubdtype(x.dtype, jnp.inexact) else x.astype(jnp.float32)


def _padding(padding: Padding) -> Any:
    """Flax's spelling: 'SAME' / 'VALID', or explicit pairs as tuples."""
    return padding.upper() if isinstance(padding, str) else tuple(tuple(pair) for pair in padding)


class Dense(nnx.Linear):
    """`(..., in_features) -> (..., units)`: a kernel `in_features x units` and `units` biases."""

    def __init__(self, in_features: int, units: int, *, use_bias: bool = True, activation: str | None = None,
                 dtype: str = "float32", kernel_init: Init = None, bias_init: Init = None, rngs: nnx.Rngs) -> None:
        super().__init__(in_features, units, use_bias=use_bias, dtype=jnp.dtype(dtype), rngs=rngs,
                         **initializers(kernel_init=kernel_init, bias_init=bias_init))
        self.activation = activation

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:  # type: ignore[override]
        return activate(super().__call__(x), self.activation)


def _pairs(padding: Any, shape: tuple[int, ...], window: tuple[int, ...], stride: tuple[int, ...]) -> list:
    """'SAME' / 'VALID' or explicit pairs as (low, high) per spatial axis (`lax.padtype_to_pads`)."""
    if isinstance(padding, str):
        return list(jax.lax.padtype_to_pads(shape, window, stride, padding))
    return [tuple(pair) for pair in padding]


def _reach(window: tuple[int, ...], dilation: tuple[int, ...]) -> tuple[int, ...]:
    """The input positions a dilated window spans, per spatial axis."""
    return tuple((k - 1) * d + 1 for k, d in zip(window, dilation, strict=True))


def _span(out: tuple[int, ...], strides: tuple[int, ...]) -> tuple[int, ...]:
    """The input positions from a window's first output position to its last, per spatial axis."""
    return tuple((n - 1) * s + 1 for n, s in zip(out, strides, strict=True))


def _padded(lhs: jax.Array, window: tuple[int, ...], strides: tuple[int, ...], padding: Any,
            dilation: tuple[int, ...]) -> jax.Array:
    """The input `(N, *spatial, C)` with its padding written out."""
    pads = _pairs(padding, lhs.shape[1:-1], _reach(window, dilation), strides)
    return jnp.pad(lhs, ((0, 0), *pads, (0, 0)))


def _window_slices(lhs: jax.Array, window: tuple[int, ...], strides: tuple[int, ...], padding: Any,
                   dilation: tuple[int, ...]) -> list[jax.Array]:
    """The input `(N, *spatial, C)` as seen by each position of the window, in row-major order (a kernel's
    `(*window, ...)` order): strided slices of the padded input, each `(N, *out, C)`."""
    x = _padded(lhs, window, strides, padding, dilation)
    reach = _reach(window, dilation)
    span = _span(tuple((size - r) // s + 1 for size, r, s in zip(x.shape[1:-1], reach, strides, strict=True)),
                 strides)
    slices = []
    for offset in itertools.product(*(range(k) for k in window)):
        start = (0, *(o * d for o, d in zip(offset, dilation, strict=True)), 0)
        limit = (x.shape[0], *(b + n for b, n in zip(start[1:-1], span, strict=True)), x.shape[-1])
        slices.append(jax.lax.slice(x, start, limit, (1, *strides, 1)))
    return slices


def _hashable(padding: Any) -> Any:
    """'SAME' / 'VALID', or explicit pairs as a tuple of tuples: a `custom_vjp`'s static argument."""
    return padding if isinstance(padding, str) else tuple(tuple(pair) for pair in padding)


def _geometry(spatial: int, window_strides: Sequence[int], lhs_dilation: Sequence[int] | None,
              rhs_dilation: Sequence[int] | None, name: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(strides, kernel dilation) of a channels-last convolution a lowering computes (no input dilation)."""
    if lhs_dilation is not None and any(d != 1 for d in lhs_dilation):
        raise ValueError(f"{name} does not dilate its input")
    return tuple(window_strides), tuple(rhs_dilation or (1,) * spatial)


def im2col_conv_general_dilated(lhs: jax.Array, rhs: jax.Array, window_strides: tuple[int, ...], padding: Any,
                                lhs_dilation: tuple[int, ...] | None = None,
                                rhs_dilation: tuple[int, ...] | None = None, dimension_numbers: Any = None,
                                feature_group_count: int = 1, precision: Any = None,
                                preferred_element_type: Any = None, out_sharding: Any = None) -> jax.Array:
    """`lax.conv_general_dilated` for a channels-last input `(N, *spatial, C)` and kernel `(*window, C/G, O)`
    (`nnx.Conv`'s layout, which it passes as `dimension_numbers`) as one matrix product: the input's windows are
    gathered by strided slices into `(N, *out, window positions * C)` (im2col), then multiplied by the kernel
    reshaped to `(window positions * C, O)` (per group for `feature_group_count` > 1). Its gradient is slices,
    pads and sums plus two matrix products, all cheap on XLA's CPU backend where its convolutions are not.
    The same result as XLA's convolution within float rounding; the kernel is the same parameter."""
    del dimension_numbers, out_sharding  # always nnx.Conv's channels-last layout
    spatial = lhs.ndim - 2
    strides, dilation = _geometry(spatial, window_strides, lhs_dilation, rhs_dilation, "im2col")
    columns = _window_slices(lhs, rhs.shape[:spatial], strides, padding, dilation)
    patches = jnp.stack(columns, axis=-2)  # (N, *out, K, C)
    positions, (cg, filters) = len(columns), rhs.shape[-2:]
    groups = feature_group_count
    kernel = rhs.reshape(positions, cg, groups, filters // groups)
    patches = patches.reshape(*patches.shape[:-1], groups, cg)  # C = G * C/G, group outermost
    if groups == 1:
        return jax.lax.dot_general(patches.reshape(*patches.shape[:-3], positions * cg),
                                   kernel.reshape(positions * cg, filters), (((spatial + 1,), (0,)), ((), ())),
                                   precision=precision, preferred_element_type=preferred_element_type)
    y = jnp.einsum("...kgc,kcgo->...go", patches, kernel, precision=precision,
                   preferred_element_type=preferred_element_type)
    return y.reshape(*y.shape[:-2], filters)


def shifted_depthwise_conv(lhs: jax.Array, rhs: jax.Array, window_strides: tuple[int, ...], padding: Any,
                           lhs_dilation: tuple[int, ...] | None = None, rhs_dilation: tuple[int, ...] | None = None,
                           dimension_numbers: Any = None, feature_group_count: int = 1, precision: Any = None,
                           preferred_element_type: Any = None, out_sharding: Any = None) -> jax.Array:
    """A depthwise `lax.conv_general_dilated` (`feature_group_count` = the input's channels C, kernel
    `(*window, 1, C * M)` for a channel multiplier M) as the weighted sum of the input's shifted copies: output
    channel `c * M + j` is the sum over window positions of input channel c there times that position's weight.
    Element-wise work that XLA fuses into one loop where its CPU backend runs depthwise convolutions far slower
    (forward and backward 6x to 17x faster, docs/performance.md#cpu-convolutions). Its kernel gradient is one
    reduction per window position, in a loop (`_depthwise_kernel_gradient`). Sums in float32 at least; the same
    result as XLA's convolution within float rounding."""
    del dimension_numbers, precision, out_sharding
    spatial, channels = lhs.ndim - 2, lhs.shape[-1]
    if feature_group_count != channels or rhs.shape[-2] != 1:
        raise ValueError("shifted_depthwise_conv computes depthwise convolutions only")
    strides, dilation = _geometry(spatial, window_strides, lhs_dilation, rhs_dilation, "shifted_depthwise_conv")
    output = jnp.dtype(preferred_element_type or jnp.result_type(lhs.dtype, rhs.dtype))
    return _shifted(lhs, rhs, (strides, _hashable(padding), dilation, output))


def _shift_sum(lhs: jax.Array, rhs: jax.Array, geometry: tuple) -> jax.Array:
    strides, padding, dilation, output = geometry
    slices = _window_slices(_repeated(lhs, rhs), rhs.shape[:-2], strides, padding, dilation)
    return _weighted_sum(slices, rhs, output)


def _weighted_sum(slices: list[jax.Array], rhs: jax.Array, output: Any) -> jax.Array:
    """Σ slice_k * rhs[k]: one fused loop, summed in float32 at least."""
    total = jnp.promote_types(output, jnp.float32)
    weights = rhs.reshape(-1, rhs.shape[-1]).astype(total)  # (window positions, C * M)
    y = sum((part.astype(total) * weight for part, weight in zip(slices, weights, strict=True)),
            start=jnp.zeros((), total))
    return y.astype(output)


def _shift_sum_input_gradient(g: jax.Array, rhs: jax.Array, shape: tuple[int, ...], geometry: tuple) -> jax.Array:
    """The input's gradient of `_shift_sum` as a shift sum itself: the output's gradient spread to its strides
    and padded (G), summed over the window with the kernel flipped, then cropped to the input. Autodiff's form, a
    padded copy of the gradient per window position, left XLA a temporary per position on small inputs."""
    strides, padding, dilation, output = geometry
    window, spatial = rhs.shape[:-2], g.ndim - 2
    reach = _reach(window, dilation)
    pads = _pairs(padding, shape[1:-1], reach, strides)
    padded = tuple(n + low + high for n, (low, high) in zip(shape[1:-1], pads, strict=True))
    span = _span(g.shape[1:-1], strides)
    spread = jax.lax.pad(g, jnp.zeros((), g.dtype), [(0, 0, 0), *((r - 1, p - n, s - 1) for r, p, n, s in
                                                                   zip(reach, padded, span, strides, strict=True)),
                                                      (0, 0, 0)])
    flipped = rhs[(slice(None, None, -1),) * spatial]
    total = _weighted_sum(_window_slices(spread, window, (1,) * spatial, "VALID", dilation), flipped, output)
    total = total[(slice(None), *(slice(low, low + n) for (low, _), n in zip(pads, shape[1:-1], strict=True)),
                   slice(None))]
    multiplier = rhs.shape[-1] // shape[-1]
    return total.reshape(*total.shape[:-1], shape[-1], multiplier).sum(-1) if multiplier > 1 else total


def _repeated(lhs: jax.Array, rhs: jax.Array) -> jax.Array:
    """The input with each channel repeated by the kernel's channel multiplier: channel c * M + j reads c."""
    multiplier = rhs.shape[-1] // lhs.shape[-1]
    return lhs if multiplier == 1 else jnp.repeat(lhs, multiplier, axis=-1)


def _depthwise_kernel_gradient(lhs: jax.Array, g: jax.Array, window: tuple[int, ...], geometry: tuple) -> jax.Array:
    """`(window positions, C * M)`: each position's input window times the output's gradient, summed over the
    batch and the output's positions. One position at a time (`lax.map`): unrolled, XLA kept every position's
    product alive at once (a temporary of the window's size times the activation's: 49x for a 7x7 window)."""
    strides, padding, dilation, _ = geometry
    x = _padded(lhs, window, strides, padding, dilation)
    span = _span(g.shape[1:-1], strides)
    offsets = jnp.array([[o * d for o, d in zip(offset, dilation, strict=True)]
                         for offset in itertools.product(*(range(k) for k in window))], jnp.int32)
    total = jnp.promote_types(g.dtype, jnp.float32)

    def at(offset: jax.Array) -> jax.Array:
        part = jax.lax.dynamic_slice(x, (0, *offset, 0), (x.shape[0], *span, x.shape[-1]))
        part = part[(slice(None), *(slice(None, None, s) for s in strides), slice(None))]
        return jnp.sum(part.astype(total) * g.astype(total), axis=tuple(range(g.ndim - 1)))

    return jax.lax.map(at, offsets)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _shifted(lhs: jax.Array, rhs: jax.Array, geometry: tuple) -> jax.Array:
    return _shift_sum(lhs, rhs, geometry)


def _shifted_forward(lhs: jax.Array, rhs: jax.Array, geometry: tuple) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
    return _shift_sum(lhs, rhs, geometry), (lhs, rhs)


def _shifted_backward(geometry: tuple, saved: tuple[jax.Array, jax.Array], g: jax.Array) -> tuple[jax.Array, jax.Array]:
    lhs, rhs = saved
    d_lhs = _shift_sum_input_gradient(g, rhs, lhs.shape, geometry).astype(lhs.dtype)
    d_rhs = _depthwise_kernel_gradient(_repeated(lhs, rhs), g, rhs.shape[:-2], geometry)
    return d_lhs, d_rhs.reshape(rhs.shape).astype(rhs.dtype)


_shifted.defvjp(_shifted_forward, _shifted_backward)


def transpose_by_matmul(x: jax.Array, kernel: jax.Array, precision: Any = None) -> jax.Array:
    """`lax.conv_transpose(x, kernel, stride=window, 'VALID' or 'SAME')` (dilation 1, kernel not transposed)
    where the stride equals the window: the windows do not overlap, so each input position writes its own
    `window` block of outputs, one matrix product `(N * positions, C) x (C, window * O)` and a depth-to-space
    reshape. (Both paddings give the same output when the stride equals the window.)"""
    spatial = x.ndim - 2
    window, (channels, filters) = kernel.shape[:spatial], kernel.shape[-2:]
    flipped = kernel[(slice(None, None, -1),) * spatial]  # lax.conv_transpose meets the window reversed
    y = jax.lax.dot_general(x, jnp.moveaxis(flipped, -2, 0).reshape(channels, -1),
                            (((spatial + 1,), (0,)), ((), ())), precision=precision)
    y = y.reshape(*x.shape[:-1], *window, filters)  # (N, *in, *window, O)
    order = (0, *(a for axis in range(1, spatial + 1) for a in (axis, axis + spatial)), 2 * spatial + 1)
    return y.transpose(order).reshape(x.shape[0], *(n * k for n, k in zip(x.shape[1:-1], window, strict=True)),
                                      filters)


# XLA's CPU convolutions compute a kernel gradient (and an unpadded convolution) several times faster over a few
# examples at a time than over a whole batch (docs/performance.md#cpu-convolutions), the `chunks` lowering. Each
# part is one more convolution to compile (about 30 ms), and a part whose output is small gains nothing, so a
# batch is split into at most BATCH_PARTS parts of at least PART_ELEMENTS output elements each.
BATCH_PARTS = 8
PART_ELEMENTS = 2**17


def batch_parts(examples: int, per_example: int) -> int:
    """The most equal parts, at most BATCH_PARTS, that a batch of `examples` splits into with PART_ELEMENTS output
    elements in each, for `per_example` output elements an example (1: too small to split)."""
    return max(parts for parts in range(1, BATCH_PARTS + 1)
               if examples % parts == 0 and (parts == 1 or examples // parts * per_example >= PART_ELEMENTS))


def chunked_conv_general_dilated(lhs: jax.Array, rhs: jax.Array, window_strides: tuple[int, ...], padding: Any,
                                 lhs_dilation: tuple[int, ...] | None = None,
                                 rhs_dilation: tuple[int, ...] | None = None, dimension_numbers: Any = None,
                                 feature_group_count: int = 1, precision: Any = None,
                                 preferred_element_type: Any = None, out_sharding: Any = None) -> jax.Array:
    """`lax.conv_general_dilated` by XLA's convolutions, its kernel's gradient summed over parts of the batch
    (`batch_parts`) and, for an unpadded convolution, its output computed part by part too; the input's gradient
    is XLA's own. The parts are separate convolutions, not a loop: inside a loop XLA's CPU convolutions ran 10x to
    100x slower. A batch too small to split is XLA's convolution itself. The same result as XLA's convolution
    within float rounding."""
    del out_sharding
    options = (tuple(window_strides), _hashable(padding), None if lhs_dilation is None else tuple(lhs_dilation),
               None if rhs_dilation is None else tuple(rhs_dilation), dimension_numbers, feature_group_count,
               precision, preferred_element_type)
    per_example = math.prod(jax.eval_shape(lambda: _xla_conv(lhs[:1], rhs, options)).shape)
    parts = batch_parts(lhs.shape[0], per_example)
    if parts == 1:
        return _xla_conv(lhs, rhs, options)
    return _chunked(lhs, rhs, options, parts)


def _xla_conv(lhs: jax.Array, rhs: jax.Array, options: tuple) -> jax.Array:
    strides, padding, lhs_dilation, rhs_dilation, numbers, groups, precision, element = options
    return jax.lax.conv_general_dilated(lhs, rhs, strides, padding, lhs_dilation, rhs_dilation, numbers, groups,
                                        precision=precision, preferred_element_type=element)


def _unpadded(padding: Any) -> bool:
    """'VALID', or explicit pairs that are all (0, 0)."""
    return padding == "VALID" or (not isinstance(padding, str) and all(tuple(pair) == (0, 0) for pair in padding))


def _parts(x: jax.Array, parts: int) -> list[jax.Array]:
    """`x` split into `parts` equal parts along its first axis (the batch: `nnx.Conv`'s layout)."""
    size = x.shape[0] // parts
    return [x[start:start + size] for start in range(0, x.shape[0], size)]


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _chunked(lhs: jax.Array, rhs: jax.Array, options: tuple, parts: int) -> jax.Array:
    if not _unpadded(options[1]):
        return _xla_conv(lhs, rhs, options)
    return jnp.concatenate([_xla_conv(part, rhs, options) for part in _parts(lhs, parts)])


def _chunked_forward(lhs: jax.Array, rhs: jax.Array, options: tuple,
                     parts: int) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
    return _chunked(lhs, rhs, options, parts), (lhs, rhs)


def _chunked_backward(options: tuple, parts: int, saved: tuple[jax.Array, jax.Array],
                      g: jax.Array) -> tuple[jax.Array, jax.Array]:
    lhs, rhs = saved
    (d_lhs,) = jax.vjp(lambda x: _xla_conv(x, rhs, options), lhs)[1](g)
    total = jnp.promote_types(rhs.dtype, jnp.float32)
    d_rhs = sum((jax.vjp(lambda w, x=x: _xla_conv(x, w, options), rhs)[1](part)[0].astype(total)
                 for x, part in zip(_parts(lhs, parts), _parts(g, parts), strict=True)), start=jnp.zeros((), total))
    return d_lhs, d_rhs.astype(rhs.dtype)


_chunked.defvjp(_chunked_forward, _chunked_backward)


# How each convolution may be computed (`Conv.lower` / `ConvTranspose.lower`): 'xla' is XLA's convolution.
CONV_LOWERINGS: dict[str, Callable[..., Any]] = {"xla": jax.lax.conv_general_dilated,
                                                 "im2col": im2col_conv_general_dilated,
                                                 "chunks": chunked_conv_general_dilated,
                                                 "shifts": shifted_depthwise_conv}
TRANSPOSE_LOWERINGS = ("xla", "matmul")


class Conv(nnx.Conv):
    """`(*spatial, in_features) -> (*spatial', filters)`, 1 to 3 spatial axes.

    `kernel`, `stride` and `dilation` hold one size per spatial axis; `padding` is always
    explicit (Flax defaults to SAME, dslc to valid). `groups` is Flax's
    `feature_group_count` (a depthwise convolution passes the input channels).
    `lowering` (`CONV_LOWERINGS`): XLA's convolution (whole, or its kernel's gradient over parts of the batch),
    im2col and one matrix product, or (depthwise ones) a sum of shifted copies; the same parameters and, within
    float rounding, the same results either way.
    """

    def __init__(self, in_features: int, filters: int, kernel: tuple[int, ...], *, stride: tuple[int, ...],
                 dilation: tuple[int, ...], padding: Padding, groups: int = 1, use_bias: bool = True,
                 activation: str | None = None, dtype: str = "float32", kernel_init: Init = None,
                 bias_init: Init = None, lowering: str = "xla", rngs: nnx.Rngs) -> None:
        super().__init__(in_features, filters, tuple(kernel), tuple(stride), padding=_padding(padding),
                         kernel_dilation=tuple(dilation), feature_group_count=groups, use_bias=use_bias,
                         dtype=jnp.dtype(dtype), rngs=rngs,
                         **initializers(kernel_init=kernel_init, bias_init=bias_init))
        self.activation = activation
        self.lower(lowering)

    def lower(self, lowering: str) -> None:
        """Compute this convolution with `CONV_LOWERINGS[lowering]` from now on."""
        if lowering == "shifts" and self.feature_group_count != _sizes(self.in_features)[0]:
            raise ValueError("the shifts lowering computes depthwise convolutions only")
        self.lowering = lowering
        self.conv_general_dilated = CONV_LOWERINGS[lowering]

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:  # type: ignore[override]
        return activate(super().__call__(x), self.activation)


def _sizes(value: int | Sequence[int] | None) -> tuple[int, ...]:
    """A Flax size argument (one int, one per axis, or None for 1) as a tuple."""
    if value is None:
        return (1,)
    return (value,) if isinstance(value, int) else tuple(value)


class ConvTranspose(nnx.ConvTranspose):
    """`(*spatial, in_features) -> (*spatial', filters)` as `jax.lax.conv_transpose` computes it.

    Arguments as `Conv` (no groups); the kernel is `(*kernel, in_features, filters)`.
    `lowering` 'matmul' (`transpose_by_matmul`) needs the stride equal to the kernel, dilation 1 and
    'same' or 'valid' padding.
    """

    def __init__(self, in_features: int, filters: int, kernel: tuple[int, ...], *, stride: tuple[int, ...],
                 dilation: tuple[int, ...], padding: Padding, use_bias: bool = True,
                 activation: str | None = None, dtype: str = "float32", kernel_init: Init = None,
                 bias_init: Init = None, lowering: str = "xla", rngs: nnx.Rngs) -> None:
        super().__init__(in_features, filters, tuple(kernel), tuple(stride), padding=_padding(padding),
                         kernel_dilation=tuple(dilation), use_bias=use_bias, dtype=jnp.dtype(dtype), rngs=rngs,
                         **initializers(kernel_init=kernel_init, bias_init=bias_init))
        self.activation = activation
        self.lower(lowering)

    def lower(self, lowering: str) -> None:
        """Compute this transposed convolution with XLA's or, where the stride equals the kernel, one matrix
        product (`transpose_by_matmul`)."""
        if lowering not in TRANSPOSE_LOWERINGS:
            raise ValueError(f"a transposed convolution's lowering is one of {TRANSPOSE_LOWERINGS}, not {lowering!r}")
        if lowering == "matmul" and (_sizes(self.strides) != _sizes(self.kernel_size)
                                     or any(d != 1 for d in _sizes(self.kernel_dilation))
                                     or self.padding not in ("SAME", "VALID")):
            raise ValueError("the matmul lowering needs stride == kernel, dilation 1 and 'same' or 'valid' padding")
        self.lowering = lowering

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        if self.lowering != "matmul" or x.ndim != len(self.kernel_size) + 2:
            return activate(super().__call__(x), self.activation)
        kernel, bias = self.kernel[...], self.bias[...] if self.bias is not None else None
        x, kernel, bias = self.promote_dtype((x, kernel, bias), dtype=self.dtype)
        y = transpose_by_matmul(x, kernel, self.precision)
        return activate(y if bias is None else y + bias, self.activation)


def _covered(x: jax.Array, window: tuple[int, ...]) -> tuple[int, ...]:
    """The spatial sizes of `x` (batch, *spatial, c) that whole windows cover."""
    return tuple(n // k * k for n, k in zip(x.shape[1:-1], window, strict=True))


def _tiles(x: jax.Array, window: tuple[int, ...]) -> jax.Array:
    """`x` (batch, *spatial, c) cropped to whole windows and split: (batch, n1 // k1, k1, n2 // k2, k2, ..., c)."""
    kept = _covered(x, window)
    x = x[(slice(None), *(slice(0, n) for n in kept), slice(None))]
    split = itertools.chain.from_iterable((n // k, k) for n, k in zip(kept, window, strict=True))
    return x.reshape((x.shape[0], *split, x.shape[-1]))


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def tiled_max_pool(x: jax.Array, window: tuple[int, ...]) -> jax.Array:
    """Max pooling whose windows tile the input (stride = window, valid padding), with a gradient built from
    comparisons rather than XLA's select-and-scatter, which is slow on CPUs (128x26x26x32, 2x2: 38 ms against 3
    on 2 cores; docs/performance.md#max-pooling). The same values and the same gradient, bit for bit: each window's
    gradient goes to its first maximum in row-major order, as select-and-scatter's (`>=`) choice gives it."""
    return jax.lax.reduce_window(x, -math.inf, jax.lax.max, (1, *window, 1), (1, *window, 1), "VALID")


def _tiled_max_pool_forward(x: jax.Array, window: tuple[int, ...]) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
    y = tiled_max_pool(x, window)
    return y, (x, y)


def _tiled_max_pool_backward(window: tuple[int, ...], saved: tuple[jax.Array, jax.Array],
                             g: jax.Array) -> tuple[jax.Array]:
    x, y = saved
    tiles = _tiles(x, window)
    inner = tuple(2 + 2 * axis for axis in range(len(window)))  # the within-window axes of `tiles`
    best, upstream = jnp.expand_dims(y, inner), jnp.expand_dims(g, inner)
    taken, parts = jnp.zeros(best.shape, bool), {}  # windows whose maximum has had its gradient
    for offset in itertools.product(*(range(k) for k in window)):  # row-major: the first maximum takes it
        index: list[Any] = [slice(None)] * tiles.ndim
        for axis, at in zip(inner, offset, strict=True):
            index[axis] = slice(at, at + 1)
        hit = (tiles[tuple(index)] == best) & ~taken
        taken = taken | hit
        parts[offset] = jnp.where(hit, upstream, jnp.zeros((), g.dtype))

    def joined(prefix: tuple[int, ...]) -> jax.Array:  # the parts put back in place, one window axis at a time
        level = len(prefix)
        if level == len(window):
            return parts[prefix]
        return jnp.concatenate([joined((*prefix, at)) for at in range(window[level])], axis=inner[level])

    kept = _covered(x, window)
    grad = joined(()).reshape((x.shape[0], *kept, x.shape[-1]))
    return (jnp.pad(grad, [(0, 0), *((0, n - k) for n, k in zip(x.shape[1:-1], kept, strict=True)), (0, 0)]),)


tiled_max_pool.defvjp(_tiled_max_pool_forward, _tiled_max_pool_backward)


class Pool(nnx.Module):
    """Max or average pooling (`op`) over the spatial axes: `(*spatial, c) -> (*spatial', c)`.

    An average over a padded window divides by the input elements in it, not the window size
    (padding is not counted, as Keras and TensorFlow do).
    """

    def __init__(self, op: str, window: tuple[int, ...], *, stride: tuple[int, ...], padding: Padding,
                 rngs: nnx.Rngs | None = None) -> None:
        self.op, self.window, self.stride, self.padding = op, tuple(window), tuple(stride), _padding(padding)

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        tiling = self.stride == self.window and self.padding == "VALID"
        if self.op == "max" and train and tiling and jnp.issubdtype(x.dtype, jnp.inexact):
            return tiled_max_pool(x, self.window)  # in training only: exports trace the plain reduce_window
        if self.op == "max":  # -inf pads (explicit or same padding) never win; integers keep their dtype
            # a Python scalar init lets lax recognise max pooling (differentiable, also under jax.export)
            # (integers need an init of their own dtype; they have no gradient to lose)
            low = -math.inf if jnp.issubdtype(x.dtype, jnp.inexact) else jnp.array(jnp.iinfo(x.dtype).min, x.dtype)
            return nnx.pool(x, low, jax.lax.max, self.window, self.stride, self.padding)
        x = floating(x)
        total = nnx.pool(x, 0.0, jax.lax.add, self.window, self.stride, self.padding)
        if self.padding == "VALID":
            return total / math.prod(self.window)
        ones = jnp.ones((*x.shape[1:-1], 1), x.dtype)  # one example: the counts broadcast over the batch
        return total / nnx.pool(ones, 0.0, jax.lax.add, self.window, self.stride, self.padding)


class GlobalPool(nnx.Module):
    """Max or average (`op`) over every spatial axis: `(*spatial, c) -> (c)`, or `(1, ..., c)` with `keepdims`."""

    def __init__(self, op: str, *, keepdims: bool = False, rngs: nnx.Rngs | None = None) -> None:
        self.op, self.keepdims = op, keepdims

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        axes = tuple(range(1, x.ndim - 1))
        if self.op == "max":
            return jnp.max(x, axis=axes, keepdims=self.keepdims)
        return jnp.mean(floating(x), axis=axes, keepdims=self.keepdims)


class Flatten(nnx.Module):
    """`(d1, ..., dn) -> (d1 * ... * dn)`."""

    def __init__(self, *, rngs: nnx.Rngs | None = None) -> None:
        pass

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        return x.reshape(x.shape[0], -1)


class Reshape(nnx.Module):
    """`(d1, ..., dn) -> shape` (one entry may be -1)."""

    def __init__(self, shape: tuple[int, ...], *, rngs: nnx.Rngs | None = None) -> None:
        self.shape = tuple(shape)

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        return x.reshape(x.shape[0], *self.shape)


class Activation(nnx.Module):
    """An element-wise activation, shape unchanged; `axis` (softmax) counts the batch axis."""

    def __init__(self, name: str, *, negative_slope: float = 0.01, approximate: bool = False, axis: int = -1,
                 rngs: nnx.Rngs | None = None) -> None:
        self.name, self.negative_slope, self.approximate, self.axis = name, negative_slope, approximate, axis

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        if self.name != "relu":
            x = floating(x)
        if self.name == "leaky_relu":
            return jax.nn.leaky_relu(x, self.negative_slope)
        if self.name == "gelu":
            return jax.nn.gelu(x, approximate=self.approximate)
        if self.name == "softmax":
            return jax.nn.softmax(x, axis=self.axis)
        return FUNCTIONS[self.name](x)


class Dropout(nnx.Dropout):
    """Zeroes a fraction `rate` of the elements (scaling the rest) when `train`; identity otherwise."""

    def __init__(self, rate: float, *, rngs: nnx.Rngs) -> None:
        super().__init__(rate, rngs=rngs if rate > 0 else None)  # no random state to carry when it never drops

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:  # type: ignore[override]
        return super().__call__(floating(x), deterministic=not train)


class BatchNorm(nnx.BatchNorm):
    """Normalises the last axis with batch statistics when `train` (updating the running mean and
    variance: `running = momentum * running + (1 - momentum) * batch`), with the running ones otherwise."""

    def __init__(self, num_features: int, *, momentum: float = 0.99, epsilon: float = 1e-5, dtype: str = "float32",
                 rngs: nnx.Rngs) -> None:
        super().__init__(num_features, momentum=momentum, epsilon=epsilon, dtype=jnp.dtype(dtype), rngs=rngs)

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:  # type: ignore[override]
        return super().__call__(x, use_running_average=not train)


class LayerNorm(nnx.LayerNorm):
    """Normalises the last axis of each example; a scale and a bias per feature."""

    def __init__(self, num_features: int, *, epsilon: float = 1e-6, dtype: str = "float32", rngs: nnx.Rngs) -> None:
        super().__init__(num_features, epsilon=epsilon, dtype=jnp.dtype(dtype), rngs=rngs)

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:  # type: ignore[override]
        return super().__call__(x)


# -- recurrent --
def _masked(h: jax.Array, mask: jax.Array | None) -> jax.Array:
    """The state as the recurrent products see it: dropped out by the sequence's mask when there is one."""
    return h if mask is None else h * mask


# Flax's cells, with the carry `(state, mask)`: the mask (None without recurrent dropout) drops out the
# state before the recurrent products, the same units at every time step (as Keras's recurrent_dropout);
# the state update itself reads the undropped state. Parameters keep Flax's names.
class MaskedSimpleCell(nnx.SimpleCell):
    """`h' = activation(W_i x + b + W_h (h * mask))`."""

    def __call__(self, carry: Any, inputs: jax.Array) -> tuple[Any, jax.Array]:
        h, mask = carry
        new_h = self.activation_fn(self.dense_i(inputs) + self.dense_h(_masked(h, mask)))
        return (new_h, mask), new_h


class MaskedLSTMCell(nnx.LSTMCell):
    """Flax's LSTM (gates i, f, g, o; one bias each, on the recurrent products); the state is `(memory, hidden)`."""

    def __call__(self, carry: Any, inputs: jax.Array) -> tuple[Any, jax.Array]:
        (c, h), mask = carry
        seen = _masked(h, mask)
        i = self.gate_fn(self.ii(inputs) + self.hi(seen))
        f = self.gate_fn(self.if_(inputs) + self.hf(seen))
        g = self.activation_fn(self.ig(inputs) + self.hg(seen))
        o = self.gate_fn(self.io(inputs) + self.ho(seen))
        new_c = f * c + i * g
        new_h = o * self.activation_fn(new_c)
        return ((new_c, new_h), mask), new_h


class MaskedGRUCell(nnx.GRUCell):
    """A GRU: `r, z = sigmoid(W_i{r,z} x + b_i{r,z} + W_h{r,z} h + b_h{r,z})`,
    `n = activation(W_in x + b_in + r * (W_hn h + b_hn))`, `h' = (1 - z) * n + z * h`.

    Both conventions apply the reset gate after the recurrent product. `recurrent_bias: False` is
    Flax's `GRUCell` (no recurrent biases `b_h*`: one bias per gate); `True` is PyTorch's `nn.GRU`
    and Keras's `reset_after=True` (separate input and recurrent biases, `dense_h.bias`).
    """

    def __init__(self, in_features: int, hidden_features: int, *, recurrent_bias: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(in_features, hidden_features, **kwargs)
        if recurrent_bias:  # Flax's recurrent product has no bias: one that has, initialised as Flax does
            self.dense_h = nnx.Linear(hidden_features, 3 * hidden_features, use_bias=True,
                                      kernel_init=nnx.initializers.orthogonal(), dtype=self.dtype,
                                      rngs=kwargs["rngs"])

    def __call__(self, carry: Any, inputs: jax.Array) -> tuple[Any, jax.Array]:
        h, mask = carry
        xi_r, xi_z, xi_n = jnp.split(self.dense_i(inputs), 3, axis=-1)
        hh_r, hh_z, hh_n = jnp.split(self.dense_h(_masked(h, mask)), 3, axis=-1)
        r = self.gate_fn(xi_r + hh_r)
        z = self.gate_fn(xi_z + hh_z)
        n = self.activation_fn(xi_n + r * hh_n)
        new_h = (1.0 - z) * n + z * h
        return (new_h, mask), new_h


CELLS = {"rnn": MaskedSimpleCell, "lstm": MaskedLSTMCell, "gru": MaskedGRUCell}


class Recurrent(nnx.Module):
    """A cell (`cell`: rnn, lstm or gru) run over time with `nnx.RNN`: `(time, in_features) -> (units)`,
    the last hidden state, or `(time, units)` with `return_sequences`.

    `bidirectional` runs a second cell backwards in time (`nnx.Bidirectional`) and concatenates
    both (`2 * units`); without `return_sequences` that is the final state of each direction.
    `activation` is the cell's (for lstm and gru the candidate and output non-linearity, the
    gates stay sigmoid). `convention` (gru only): `flax` or `reset_after` (`MaskedGRUCell`).
    When `train`, `dropout` drops input features and `recurrent_dropout` state units, each with
    one mask per sequence held for every time step (as Keras); the two directions share the
    input mask and draw state masks of their own. The carry starts at zero in the compute dtype.
    """

    def __init__(self, cell: str, in_features: int, units: int, *, return_sequences: bool = False,
                 bidirectional: bool = False, activation: str = "tanh", dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, convention: str = "flax", dtype: str = "float32",
                 rngs: nnx.Rngs) -> None:
        options = {"recurrent_bias": convention == "reset_after"} if cell == "gru" else {}

        def direction() -> nnx.RNN:
            made = CELLS[cell](in_features, units, activation_fn=FUNCTIONS[activation], dtype=jnp.dtype(dtype),
                               rngs=rngs, **options)
            return nnx.RNN(made, rngs=False)

        self.cell, self.units, self.dtype = cell, units, dtype
        self.return_sequences, self.bidirectional = return_sequences, bidirectional
        self.rnn = nnx.Bidirectional(direction(), direction(), rngs=False) if bidirectional else direction()
        # no random state to carry for a rate that never drops; the input mask is shared over time (axis 1)
        self.input_dropout = nnx.Dropout(dropout, broadcast_dims=(1,), rngs=rngs) if dropout > 0 else None
        self.state_dropout = nnx.Dropout(recurrent_dropout, rngs=rngs) if recurrent_dropout > 0 else None

    def _start(self, x: jax.Array, train: bool) -> Any:
        zeros = jnp.zeros((x.shape[0], self.units), jnp.dtype(self.dtype))
        mask = None
        if train and self.state_dropout is not None:
            mask = self.state_dropout(jnp.ones_like(zeros), deterministic=False)  # 0 or 1 / (1 - rate)
        return ((zeros, zeros) if self.cell == "lstm" else zeros), mask

    def _hidden(self, carry: Any) -> jax.Array:
        state, _ = carry
        return state[1] if self.cell == "lstm" else state  # an LSTM carries (memory, hidden)

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        if self.input_dropout is not None:
            x = self.input_dropout(floating(x), deterministic=not train)
        start = (self._start(x, train), self._start(x, train)) if self.bidirectional else self._start(x, train)
        carry, ys = self.rnn(x, initial_carry=start, return_carry=True)
        if self.return_sequences:
            return ys
        if self.bidirectional:
            return jnp.concatenate([self._hidden(carry[0]), self._hidden(carry[1])], axis=-1)
        return self._hidden(carry)


class Merge(nnx.Module):
    """Element-wise `op` (add or multiply) of two or more inputs of one shape (multiply broadcasts size-1 axes)."""

    def __init__(self, op: str, *, rngs: nnx.Rngs | None = None) -> None:
        self.op = op

    def __call__(self, *xs: jax.Array, train: bool = False) -> jax.Array:
        return functools.reduce(operator.add if self.op == "add" else operator.mul, xs)


class Concat(nnx.Module):
    """Concatenation along `axis` (of the batched arrays: the spec's non-negative axes plus one)."""

    def __init__(self, axis: int = -1, *, rngs: nnx.Rngs | None = None) -> None:
        self.axis = axis

    def __call__(self, *xs: jax.Array, train: bool = False) -> jax.Array:
        return jnp.concatenate(xs, axis=self.axis)


# -- initialisers --
_SCALED: dict[str, tuple[float, Literal["fan_in", "fan_avg"], Literal["uniform", "truncated_normal"]]] = {
    # variance scaling: (scale, fan mode, distribution), as jax.nn.initializers
    "xavier_uniform": (1.0, "fan_avg", "uniform"), "glorot_uniform": (1.0, "fan_avg", "uniform"),
    "xavier_normal": (1.0, "fan_avg", "truncated_normal"), "glorot_normal": (1.0, "fan_avg", "truncated_normal"),
    "he_uniform": (2.0, "fan_in", "uniform"), "kaiming_uniform": (2.0, "fan_in", "uniform"),
    "he_normal": (2.0, "fan_in", "truncated_normal"), "kaiming_normal": (2.0, "fan_in", "truncated_normal"),
    "lecun_uniform": (1.0, "fan_in", "uniform"), "lecun_normal": (1.0, "fan_in", "truncated_normal"),
}


def initializer(name: str, argument: float | None) -> Any:
    """A spec's initialiser as a JAX one; `argument` is the std of `normal`/`truncated_normal` (the latter cut
    at 2 std) or the value of `constant`. Fans are over the last two axes, the window counting in both."""
    init = nnx.initializers
    if name in _SCALED:
        return init.variance_scaling(*_SCALED[name])
    if name in ("zeros", "ones"):
        return init.zeros_init() if name == "zeros" else init.ones_init()
    if argument is None:
        raise ValueError(f"initialiser {name} needs its std or value")
    with_argument: dict[str, Any] = {"constant": init.constant, "normal": init.normal,
                                     "truncated_normal": init.truncated_normal}
    return with_argument[name](argument)


def initializers(**given: Init) -> dict[str, Any]:
    """Flax's `<p>_init` keyword arguments for the initialisers given (None keeps Flax's default)."""
    return {key: initializer(*spec) for key, spec in given.items() if spec is not None}


# -- mixture of experts --
class AuxiliaryLoss(nnx.Intermediate):
    """A term a layer adds to the training loss (sown in training only); the train step sums them all."""


class MixtureOfExperts(nnx.Module):
    """`(..., features) -> (..., features)`: `experts` MLPs (`features -> hidden -> features`, no biases),
    `top_k` of them per position, chosen by a router without bias.

    Routing as Mixtral: a softmax over the router's logits, kept for the top k and renormalised.
    Dropless and dense: every expert runs on every position and the routing weights (zero for the
    experts not chosen) combine them, which is exact whatever the load. `gated` experts compute
    `down(activation(gate(x)) * up(x))`, plain ones `down(activation(up(x)))`. When `train` and
    `aux_weight > 0`, sows `aux_weight * E * sum_e f_e * P_e` (`f_e`: the fraction of positions with
    expert e among their top k, `P_e`: its mean probability) as an `AuxiliaryLoss`.
    """

    def __init__(self, features: int, experts: int, hidden: int, *, top_k: int = 2, gated: bool = True,
                 activation: str = "silu", aux_weight: float = 0.01, dtype: str = "float32",
                 rngs: nnx.Rngs) -> None:
        init = nnx.initializers.lecun_normal(batch_axis=(0,))  # each expert's fan-in, not the stack's

        def weights(fan_in: int, fan_out: int) -> nnx.Param:
            return nnx.Param(init(rngs.params(), (experts, fan_in, fan_out), jnp.float32))

        self.router = Dense(features, experts, use_bias=False, dtype=dtype, rngs=rngs)
        self.gate = weights(features, hidden) if gated else None
        self.up = weights(features, hidden)
        self.down = weights(hidden, features)
        self.top_k, self.activation, self.aux_weight, self.dtype = top_k, activation, aux_weight, dtype

    def routing(self, x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """Per position and expert (`(..., experts)` each): the routing weight (zero but for the top k),
        whether it is in the top k (0 or 1), and the router's probability."""
        probabilities = jax.nn.softmax(self.router(x).astype(jnp.float32), axis=-1)
        top, chosen = jax.lax.top_k(probabilities, self.top_k)
        one_hot = jax.nn.one_hot(chosen, probabilities.shape[-1], dtype=jnp.float32)  # (..., k, experts)
        weights = (one_hot * (top / top.sum(axis=-1, keepdims=True))[..., None]).sum(axis=-2)
        return weights, one_hot.sum(axis=-2), probabilities

    def _balance_loss(self, routed: jax.Array, probabilities: jax.Array) -> jax.Array:
        experts = probabilities.shape[-1]
        fraction = routed.reshape(-1, experts).mean(axis=0)  # sums to k
        return self.aux_weight * experts * jnp.sum(fraction * probabilities.reshape(-1, experts).mean(axis=0))

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        x = floating(x).astype(jnp.dtype(self.dtype))
        weights, routed, probabilities = self.routing(x)
        if train and self.aux_weight > 0:
            self.sow(AuxiliaryLoss, "aux_loss", self._balance_loss(routed, probabilities))
        compute = jnp.dtype(self.dtype)
        hidden = jnp.einsum("...d,edh->...eh", x, self.up[...].astype(compute))
        if self.gate is not None:
            hidden = activate(jnp.einsum("...d,edh->...eh", x, self.gate[...].astype(compute)),
                              self.activation) * hidden
        else:
            hidden = activate(hidden, self.activation)
        outputs = jnp.einsum("...eh,ehd->...ed", hidden, self.down[...].astype(compute))
        return jnp.einsum("...ed,...e->...d", outputs, weights.astype(compute))


# -- attention and decoders --
def _positions_turned(x: jax.Array, base: float, rotary: int, style: str, start: Position = 0) -> jax.Array:
    """Rotary position embedding of `x` `(B, T, heads, d)`: its first `rotary` features turned by position.

    `halves` pairs feature `i` with `i + rotary/2` (Llama's `rotate_half`), `interleaved` pairs
    `2i` with `2i + 1` (GPT-J); pair `i` at position `t` turns by `t * base ** (-2i / rotary)`.
    The positions are `start, start + 1, ...` (a decode step passes the position of its first token).
    """
    half = rotary // 2
    frequencies = base ** (-2.0 * jnp.arange(half, dtype=jnp.float32) / rotary)
    positions = (start + jnp.arange(x.shape[1])).astype(jnp.float32)  # integers: exact in float32
    angles = positions[:, None] * frequencies  # (T, half)
    cos, sin = jnp.cos(angles)[:, None, :], jnp.sin(angles)[:, None, :]  # broadcast over heads
    turned, kept = x[..., :rotary].astype(jnp.float32), x[..., rotary:]
    first, second = (turned[..., :half], turned[..., half:]) if style == "halves" else \
        (turned[..., 0::2], turned[..., 1::2])
    first, second = first * cos - second * sin, second * cos + first * sin
    if style == "halves":
        turned = jnp.concatenate([first, second], axis=-1)
    else:
        turned = jnp.stack([first, second], axis=-1).reshape(turned.shape)
    return jnp.concatenate([turned.astype(x.dtype), kept], axis=-1)


def _visible(time: int, causal: bool, window: int | None) -> jax.Array | None:
    """Which keys each query may see, `(T, T)`: earlier ones with `causal`, the `window - 1` nearest with `window`."""
    if not causal and window is None:
        return None
    query, key = jnp.arange(time)[:, None], jnp.arange(time)[None, :]
    visible = key <= query if causal else jnp.ones((time, time), bool)
    return visible if window is None else visible & (jnp.abs(query - key) < window)


def _visible_from(start: Position, time: int, length: int, window: int | None) -> jax.Array:
    """Which cached keys `(length)` the queries at positions `start ... start + time - 1` may see, `(time, length)`:
    the causal mask (and window) of `_visible`, so positions of the cache not written yet are never seen."""
    query, key = start + jnp.arange(time)[:, None], jnp.arange(length)[None, :]
    visible = key <= query
    return visible if window is None else visible & (query - key < window)


class RMSNorm(nnx.RMSNorm):
    """Root-mean-square normalisation of the last axis of each example; a scale per feature."""

    def __init__(self, num_features: int, *, epsilon: float = 1e-6, dtype: str = "float32", rngs: nnx.Rngs) -> None:
        super().__init__(num_features, epsilon=epsilon, dtype=jnp.dtype(dtype), rngs=rngs)

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:  # type: ignore[override]
        return super().__call__(floating(x))


class Attention(nnx.Module):
    """Multi-head attention: queries `(T, in_features)`, keys and values from the same input or from
    a memory `(S, memory_features)`; output `(T, in_features)`.

    `heads` query heads and `kv_heads` key/value heads (each serving `heads / kv_heads` query
    heads) of `head_dim` features. `qk_norm` RMS-normalises each query and key head; `rope`
    is `(base, rotary features, style)` (see `_positions_turned`); `causal` and `window` mask
    keys (see `_visible`). `dropout`, when `train`, drops attention weights. Computed by
    `jax.nn.dot_product_attention` but when dropping weights.

    `decode` computes only new positions against a key/value cache (see `decode`).
    """

    def __init__(self, in_features: int, heads: int, head_dim: int, *, kv_heads: int | None = None,
                 memory_features: int | None = None, qkv_bias: bool = True, out_bias: bool = True,
                 causal: bool = False, window: int | None = None, qk_norm: bool = False, epsilon: float = 1e-6,
                 rope: tuple[float, int, str] | None = None, dropout: float = 0.0, dtype: str = "float32",
                 rngs: nnx.Rngs) -> None:
        kv_heads = kv_heads or heads
        memory_features = memory_features or in_features

        def linear(width_in: int, width_out: int, bias: bool) -> nnx.Linear:
            return nnx.Linear(width_in, width_out, use_bias=bias, dtype=jnp.dtype(dtype), rngs=rngs)

        self.query = linear(in_features, heads * head_dim, qkv_bias)
        self.key = linear(memory_features, kv_heads * head_dim, qkv_bias)
        self.value = linear(memory_features, kv_heads * head_dim, qkv_bias)
        self.out = linear(heads * head_dim, in_features, out_bias)
        self.query_norm = RMSNorm(head_dim, epsilon=epsilon, dtype=dtype, rngs=rngs) if qk_norm else None
        self.key_norm = RMSNorm(head_dim, epsilon=epsilon, dtype=dtype, rngs=rngs) if qk_norm else None
        self.dropout = Dropout(dropout, rngs=rngs)
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, head_dim
        self.causal, self.window, self.dtype = causal, window, dtype
        self.rope: tuple[float, int, str] | None = None if rope is None else (rope[0], rope[1], rope[2])

    def _heads(self, x: jax.Array, count: int, norm: RMSNorm | None, start: Position = 0) -> jax.Array:
        x = x.reshape(*x.shape[:-1], count, self.head_dim)
        if norm is not None:
            x = norm(x)
        if self.rope is not None:
            base, rotary, style = self.rope
            x = _positions_turned(x, base, rotary, style, start)
        return x

    def _weights_dropped(self, query: jax.Array, key: jax.Array, value: jax.Array, visible: jax.Array | None,
                         ) -> jax.Array:
        """Attention written out, to drop weights (`jax.nn.dot_product_attention` cannot)."""
        group = self.heads // self.kv_heads
        key, value = jnp.repeat(key, group, axis=2), jnp.repeat(value, group, axis=2)
        scores = jnp.einsum("btnh,bsnh->bnts", query, key) / jnp.sqrt(self.head_dim).astype(query.dtype)
        if visible is not None:
            scores = jnp.where(visible, scores, jnp.finfo(scores.dtype).min)
        weights = self.dropout(jax.nn.softmax(scores, axis=-1), train=True)
        return jnp.einsum("bnts,bsnh->btnh", weights, value)

    def __call__(self, x: jax.Array, memory: jax.Array | None = None, *, train: bool = False) -> jax.Array:
        x = floating(x)
        memory = x if memory is None else floating(memory)
        query = self._heads(self.query(x), self.heads, self.query_norm)
        key = self._heads(self.key(memory), self.kv_heads, self.key_norm)
        value = self.value(memory).reshape(*memory.shape[:-1], self.kv_heads, self.head_dim)
        visible = _visible(x.shape[1], self.causal, self.window)
        if train and self.dropout.rate > 0:
            attended = self._weights_dropped(query, key, value, visible)
        else:
            attended = jax.nn.dot_product_attention(query, key, value, mask=visible)
        return self.out(attended.reshape(*attended.shape[:-2], self.heads * self.head_dim))

    # The cache is explicit arrays passed in and returned, not `nnx.Cache` variables: the jitted decode step
    # stays a pure function of (weights, cache, tokens, position), the weights restored from a checkpoint are
    # used as they are (no model state that changes per step to split and merge), and the caller can donate
    # the cache so that XLA updates it in place.
    def empty_cache(self, batch: int, length: int) -> tuple[jax.Array, jax.Array]:
        """Keys and values of `length` positions, `(batch, length, kv_heads, head_dim)` each, all zeros."""
        shape = (batch, length, self.kv_heads, self.head_dim)
        return jnp.zeros(shape, jnp.dtype(self.dtype)), jnp.zeros(shape, jnp.dtype(self.dtype))

    def decode_problem(self, inputs: int) -> str | None:
        """Why this attention cannot decode one position at a time (None: it can)."""
        if inputs > 1:
            return "it attends to a second input (a memory), not to its own earlier positions"
        if not self.causal:
            return "it is not causal: each position sees later ones"
        return None

    def decode(self, x: jax.Array, *, start: Position, cache: tuple[jax.Array, jax.Array],
               ) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
        """Self-attention of the positions `start ... start + T - 1` (`x`: `(B, T, in_features)`) in inference.

        Their keys and values are written into `cache` (`empty_cache`) at those positions, and their
        queries see the cached keys that the causal mask (and window) of `__call__` lets them see, so
        the output equals `__call__`'s at those positions when the cache holds the earlier ones.
        Returns the output and the updated cache. `start + T` must not pass the cache's length.
        """
        x = floating(x)
        query = self._heads(self.query(x), self.heads, self.query_norm, start)
        key = self._heads(self.key(x), self.kv_heads, self.key_norm, start)
        value = self.value(x).reshape(*x.shape[:-1], self.kv_heads, self.head_dim)
        keys, values = cache
        keys = jax.lax.dynamic_update_slice_in_dim(keys, key.astype(keys.dtype), start, axis=1)
        values = jax.lax.dynamic_update_slice_in_dim(values, value.astype(values.dtype), start, axis=1)
        visible = _visible_from(start, x.shape[1], keys.shape[1], self.window)
        attended = jax.nn.dot_product_attention(query, keys.astype(query.dtype), values.astype(query.dtype),
                                                mask=visible)
        return self.out(attended.reshape(*attended.shape[:-2], self.heads * self.head_dim)), (keys, values)


class GatedMLP(nnx.Module):
    """`(..., features) -> (..., features)`: `down(activation(gate(x)) * up(x))`, `hidden` wide in between."""

    def __init__(self, features: int, hidden: int, *, activation: str = "silu", use_bias: bool = False,
                 dtype: str = "float32", rngs: nnx.Rngs) -> None:
        self.gate = Dense(features, hidden, use_bias=use_bias, activation=activation, dtype=dtype, rngs=rngs)
        self.up = Dense(features, hidden, use_bias=use_bias, dtype=dtype, rngs=rngs)
        self.down = Dense(hidden, features, use_bias=use_bias, dtype=dtype, rngs=rngs)

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        x = floating(x)
        return self.down(self.gate(x) * self.up(x))


class FeedForward(nnx.Module):
    """`(..., features) -> (..., features)` through `hidden` units with `activation`; `dropout` on the hidden units."""

    def __init__(self, features: int, hidden: int, *, activation: str, use_bias: bool = True, dropout: float = 0.0,
                 dtype: str = "float32", rngs: nnx.Rngs) -> None:
        self.mlp_in = Dense(features, hidden, use_bias=use_bias, activation=activation, dtype=dtype, rngs=rngs)
        self.mlp_out = Dense(hidden, features, use_bias=use_bias, dtype=dtype, rngs=rngs)
        self.dropout = Dropout(dropout, rngs=rngs)

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        return self.mlp_out(self.dropout(self.mlp_in(x), train=train))


NORMS = {"layernorm": LayerNorm, "rmsnorm": RMSNorm}


class _DecodesThroughAttention:
    """The decode path of a block around one `Attention` (`DecoderBlock`, `TransformerEncoder`): the attention keeps
    the cache; the rest of the block works position by position. The block gives `_attention_input` (what its
    attention reads) and `_after_attention` (its output from its input and the attention's)."""

    attention: Attention

    def _attention_input(self, x: jax.Array) -> jax.Array:
        raise NotImplementedError

    def _after_attention(self, x: jax.Array, attended: jax.Array, train: bool) -> jax.Array:
        raise NotImplementedError

    def empty_cache(self, batch: int, length: int) -> tuple[jax.Array, jax.Array]:
        return self.attention.empty_cache(batch, length)

    def decode_problem(self, inputs: int) -> str | None:
        return self.attention.decode_problem(inputs)

    def decode(self, x: jax.Array, *, start: Position, cache: tuple[jax.Array, jax.Array],
               ) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
        """`__call__` in inference at positions `start ...` only, through the attention's cache (`Attention.decode`)."""
        x = floating(x)
        attended, cache = self.attention.decode(self._attention_input(x), start=start, cache=cache)
        return self._after_attention(x, attended, train=False), cache


class DecoderBlock(_DecodesThroughAttention, nnx.Module):
    """A pre-norm transformer decoder block: `(time, in_features) -> (time, in_features)`.

    `x + attn(norm(x))` then `x + mlp(norm(x))`; with `parallel` `x + attn(norm(x)) +
    mlp(norm'(x))`, one norm for both with `shared_norm`. The attention takes `Attention`'s
    arguments; the feed-forward is `FeedForward` or, with `gated`, `GatedMLP` (`mlp_dim`
    wide). `norm` names the norm (`layernorm`, `rmsnorm`); `dropout` drops attention weights
    and each branch's output when `train`.
    """

    def __init__(self, in_features: int, heads: int, head_dim: int, *, mlp_dim: int, gated: bool = False,
                 activation: str = "gelu", mlp_bias: bool = True, norm: str = "layernorm", epsilon: float = 1e-5,
                 parallel: bool = False, shared_norm: bool = False, dropout: float = 0.0, dtype: str = "float32",
                 rngs: nnx.Rngs, **attention: Any) -> None:
        self.attention = Attention(in_features, heads, head_dim, epsilon=epsilon, dropout=dropout, dtype=dtype,
                                   rngs=rngs, **attention)
        self.attention_norm = NORMS[norm](in_features, epsilon=epsilon, dtype=dtype, rngs=rngs)
        self.mlp_norm = None if shared_norm else NORMS[norm](in_features, epsilon=epsilon, dtype=dtype, rngs=rngs)
        self.mlp = (GatedMLP(in_features, mlp_dim, activation=activation, use_bias=mlp_bias, dtype=dtype, rngs=rngs)
                    if gated else FeedForward(in_features, mlp_dim, activation=activation, use_bias=mlp_bias,
                                              dtype=dtype, rngs=rngs))
        self.dropout = Dropout(dropout, rngs=rngs)
        self.parallel = parallel

    def _after_attention(self, x: jax.Array, attended: jax.Array, train: bool) -> jax.Array:
        """The block's output from its input and its attention's output (both position by position)."""
        attended = self.dropout(attended, train=train)
        mlp_norm = self.mlp_norm or self.attention_norm
        if self.parallel:
            return x + attended + self.dropout(self.mlp(mlp_norm(x), train=train), train=train)
        x = x + attended
        return x + self.dropout(self.mlp(mlp_norm(x), train=train), train=train)

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        x = floating(x)
        return self._after_attention(x, self.attention(self.attention_norm(x), train=train), train)

    def _attention_input(self, x: jax.Array) -> jax.Array:
        return self.attention_norm(x)


class TransformerEncoder(_DecodesThroughAttention, nnx.Module):
    """A transformer encoder block: `(time, features) -> (time, features)`.

    Self-attention (`features` wide) and a feed-forward network (`features -> mlp_dim ->
    features`, `activation` between), each in a residual connection with a layer norm
    (`epsilon`): pre-norm (`norm_first`) `x + f(norm(x))`, post-norm `norm(x + f(x))`.
    `dropout`, when `train`, drops attention weights, the feed-forward hidden units and each
    branch's output before the residual sum (as PyTorch's `TransformerEncoderLayer`).
    """

    def __init__(self, features: int, heads: int, mlp_dim: int, *, dropout: float = 0.0, causal: bool = False,
                 norm_first: bool = True, activation: str = "gelu", epsilon: float = 1e-6, dtype: str = "float32",
                 rngs: nnx.Rngs) -> None:
        self.attention = Attention(features, heads, features // heads, dropout=dropout, causal=causal, dtype=dtype,
                                   rngs=rngs)
        self.attention_norm = LayerNorm(features, epsilon=epsilon, dtype=dtype, rngs=rngs)
        self.mlp = FeedForward(features, mlp_dim, activation=activation, dropout=dropout, dtype=dtype, rngs=rngs)
        self.mlp_norm = LayerNorm(features, epsilon=epsilon, dtype=dtype, rngs=rngs)
        self.dropout = Dropout(dropout, rngs=rngs)
        self.norm_first = norm_first

    def _feed_forward(self, x: jax.Array, train: bool) -> jax.Array:
        return self.dropout(self.mlp(x, train=train), train=train)

    def _after_attention(self, x: jax.Array, attended: jax.Array, train: bool) -> jax.Array:
        """The block's output from its input and its attention's output (both position by position)."""
        attended = self.dropout(attended, train=train)
        if self.norm_first:
            x = x + attended
            return x + self._feed_forward(self.mlp_norm(x), train)
        x = self.attention_norm(x + attended)
        return self.mlp_norm(x + self._feed_forward(x, train))

    def _attention_input(self, x: jax.Array) -> jax.Array:
        return self.attention_norm(x) if self.norm_first else x

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        x = floating(x)
        return self._after_attention(x, self.attention(self._attention_input(x), train=train), train)



# -- embeddings and heads --
class Embedding(nnx.Embed):
    """Integer ids `(...) -> (..., dim)`, from a `vocab x dim` table."""

    def __init__(self, vocab: int, dim: int, *, dtype: str = "float32", embedding_init: Init = None,
                 rngs: nnx.Rngs) -> None:
        super().__init__(vocab, dim, dtype=jnp.dtype(dtype), rngs=rngs, **initializers(embedding_init=embedding_init))

    def __call__(self, ids: jax.Array, *, train: bool = False) -> jax.Array:  # type: ignore[override]
        return super().__call__(ids)


class TiedDense(nnx.Module):
    """`(..., in_features) -> (..., units)` through an embedding's `units x in_features` table, transposed.

    The table is not this module's: the model passes the embedding at call time (`table=`), so the
    parameter lives once, under the embedding's own path, and one gradient trains it for both uses.
    """

    def __init__(self, in_features: int, units: int, *, use_bias: bool = True, activation: str | None = None,
                 dtype: str = "float32", bias_init: Init = None, rngs: nnx.Rngs) -> None:
        self.in_features, self.units, self.activation, self.dtype = in_features, units, activation, dtype
        init = initializers(bias_init=bias_init).get("bias_init", nnx.initializers.zeros_init())
        self.bias = nnx.Param(init(rngs.params(), (units,), jnp.float32)) if use_bias else None

    def __call__(self, x: jax.Array, *, table: Embedding, train: bool = False) -> jax.Array:
        dtype = jnp.dtype(self.dtype)
        y = jnp.dot(x.astype(dtype), table.embedding[...].astype(dtype).T)
        if self.bias is not None:
            y = y + self.bias[...].astype(dtype)
        return activate(y, self.activation)


class PositionEmbedding(nnx.Module):
    """`(time, features) -> (time, features)`: adds the first `time` rows of a learned `positions x features` table."""

    def __init__(self, positions: int, features: int, *, dtype: str = "float32", rngs: nnx.Rngs) -> None:
        self.embedding = nnx.Param(nnx.initializers.normal(0.02)(rngs.params(), (positions, features), jnp.float32))
        self.dtype = dtype

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        x = floating(x)
        return x + self.embedding[: x.shape[1]].astype(jnp.promote_types(x.dtype, self.dtype))

    def decode_problem(self, inputs: int) -> str | None:
        return None

    def decode(self, x: jax.Array, *, start: Position, cache: None = None) -> tuple[jax.Array, None]:
        """`__call__` at positions `start ... start + T - 1`: adds those rows of the table (it keeps no cache)."""
        x = floating(x)
        rows = jax.lax.dynamic_slice_in_dim(self.embedding[...], start, x.shape[1])
        return x + rows.astype(jnp.promote_types(x.dtype, self.dtype)), None


class ClassToken(nnx.Module):
    """`(time, features) -> (time + 1, features)`: a learned vector (zeros at first) before the first position."""

    def __init__(self, features: int, *, rngs: nnx.Rngs) -> None:
        self.token = nnx.Param(jnp.zeros((features,), jnp.float32))

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        x = floating(x)
        token = jnp.broadcast_to(self.token[...].astype(x.dtype), (x.shape[0], 1, x.shape[2]))
        return jnp.concatenate([token, x], axis=1)


class Select(nnx.Module):
    """The slice at `index` (negative: from the end) along `axis` (counted after the batch axis), which it drops."""

    def __init__(self, axis: int, index: int, *, rngs: nnx.Rngs | None = None) -> None:
        self.axis, self.index = axis, index

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        return x[(slice(None),) * (self.axis + 1) + (self.index,)]


# -- vision --
class GroupNorm(nnx.GroupNorm):
    """Normalises each example over its spatial axes and groups of `num_features / groups` channels."""

    def __init__(self, num_features: int, *, groups: int, epsilon: float = 1e-5, dtype: str = "float32",
                 rngs: nnx.Rngs) -> None:
        super().__init__(num_features, num_groups=groups, epsilon=epsilon, dtype=jnp.dtype(dtype), rngs=rngs)

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:  # type: ignore[override]
        return super().__call__(x)


class LayerScale(nnx.Module):
    """`(..., c) -> (..., c)`: each channel times a learned factor, `init` at first (ConvNeXt's gamma)."""

    def __init__(self, num_features: int, *, init: float = 1e-6, dtype: str = "float32", rngs: nnx.Rngs) -> None:
        self.scale = nnx.Param(jnp.full((num_features,), init, jnp.float32))
        self.dtype = dtype

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        dtype = jnp.dtype(self.dtype)
        return floating(x).astype(dtype) * self.scale[...].astype(dtype)


class StochasticDepth(nnx.Dropout):
    """Drop path: when `train`, zeroes whole examples with probability `rate` (scaling the rest by
    `1 / (1 - rate)`): dropout whose mask is shared by all `rank` non-batch axes. Identity otherwise."""

    def __init__(self, rate: float, *, rank: int, rngs: nnx.Rngs) -> None:
        super().__init__(rate, broadcast_dims=tuple(range(1, rank + 1)), rngs=rngs if rate > 0 else None)

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:  # type: ignore[override]
        return super().__call__(floating(x), deterministic=not train)


class ZeroPadding(nnx.Module):
    """`(*spatial, c) -> (*spatial', c)`: `padding` holds (low, high) zeros per spatial axis."""

    def __init__(self, padding: tuple[tuple[int, int], ...], *, rngs: nnx.Rngs | None = None) -> None:
        self.padding = tuple(tuple(pair) for pair in padding)

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        return jnp.pad(x, ((0, 0), *self.padding, (0, 0)))


class Cropping(nnx.Module):
    """`(*spatial, c) -> (*spatial', c)`: `cropping` holds the (low, high) amounts cut per spatial axis."""

    def __init__(self, cropping: tuple[tuple[int, int], ...], *, rngs: nnx.Rngs | None = None) -> None:
        self.cropping = tuple(tuple(pair) for pair in cropping)

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        kept = tuple(slice(lo, size - hi) for (lo, hi), size in zip(self.cropping, x.shape[1:-1], strict=True))
        return x[(slice(None), *kept, slice(None))]


class Upsample(nnx.Module):
    """`(*spatial, c) -> (*spatial * factor, c)`: `nearest` repeats elements; `bilinear` interpolates
    linearly along each axis with half-pixel centres (`jax.image.resize`, as PyTorch's `align_corners=False`)."""

    def __init__(self, factor: tuple[int, ...], *, method: str = "nearest", rngs: nnx.Rngs | None = None) -> None:
        self.factor, self.method = tuple(factor), method

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        if self.method == "nearest":
            for axis, factor in enumerate(self.factor, start=1):
                x = jnp.repeat(x, factor, axis=axis)
            return x
        x = floating(x)
        shape = (x.shape[0], *(n * f for n, f in zip(x.shape[1:-1], self.factor, strict=True)), x.shape[-1])
        # upsampling only, so no antialiasing applies: plain linear interpolation, as PyTorch's
        return jax.image.resize(x, shape, method="linear")


def _adaptive_weights(n: int, m: int) -> jax.Array:
    """`(m, n)`: row `i` averages positions `floor(i*n/m)` to `ceil((i+1)*n/m)` (PyTorch's adaptive windows)."""
    rows = []
    for i in range(m):
        start, stop = i * n // m, -(-(i + 1) * n // m)
        rows.append([1.0 / (stop - start) if start <= j < stop else 0.0 for j in range(n)])
    return jnp.array(rows, jnp.float32)


class AdaptiveAvgPool(nnx.Module):
    """`(*input_size, c) -> (*output_size, c)`: averages over windows that tile each axis (PyTorch's)."""

    def __init__(self, input_size: tuple[int, ...], output_size: tuple[int, ...], *,
                 rngs: nnx.Rngs | None = None) -> None:
        self.input_size, self.output_size = tuple(input_size), tuple(output_size)

    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        x = floating(x)
        for axis, (n, m) in enumerate(zip(self.input_size, self.output_size, strict=True), start=1):
            # one averaging matrix per axis, applied in turn (the windows are separable)
            x = jnp.moveaxis(jnp.tensordot(x, _adaptive_weights(n, m).astype(x.dtype), axes=((axis,), (1,))), -1, axis)
        return x


# -- decoding: a model run one new position at a time (text generation) --
# Modules that, in inference, compute each position from that position alone: a decode step runs them as they
# are on its new positions. A module that mixes positions has a `decode` method (and `decode_problem`), or the
# model cannot decode.
POSITIONWISE: tuple[type, ...] = (Dense, TiedDense, Embedding, LayerNorm, RMSNorm, BatchNorm, Dropout,
                                  StochasticDepth, GatedMLP, FeedForward, MixtureOfExperts, Merge, LayerScale)


def decode_problem(module: nnx.Module, inputs: int, rank: int) -> str | None:
    """Why `module` cannot run on new positions alone in a decode step (None: it can). `inputs`: how many inputs it
    takes; `rank`: its first input's axes after the batch axis (the time axis is the first of them)."""
    problem = getattr(module, "decode_problem", None)
    if problem is not None:
        return problem(inputs)
    last = (-1, rank)  # the feature axis of a batched (B, T, ..., features) array
    if isinstance(module, Activation) and module.name == "softmax" and module.axis not in last:
        return "its softmax runs across positions"
    if isinstance(module, Concat) and module.axis not in last:
        return "it concatenates along a position axis"
    if isinstance(module, (*POSITIONWISE, Activation, Concat)):
        return None
    return "it combines several positions and has no decode step"


# Every module class defined above, by name: adding a class is all it takes to make it buildable.
CONSTRUCTORS: dict[str, type] = {name: value for name, value in list(globals().items())
                                 if isinstance(value, type) and issubclass(value, nnx.Module)
                                 and value.__module__ == __name__}

__all__ = ["CONSTRUCTORS", "FUNCTIONS", "POSITIONWISE", "activate", "decode_problem", "floating", *CONSTRUCTORS]
