"""How each convolution is computed: XLA's convolution, or a lowering that XLA's CPU backend runs faster.

On the CPU, XLA's transposed convolutions are far slower than one matrix product (jax issue 23783), its depthwise
convolutions far slower than a sum of the input's shifted copies (`_flax.shifted_depthwise_conv`), and some
convolution shapes are faster as im2col and one matrix product (`_flax.im2col_conv_general_dilated`) or, for a
large batch, with the kernel's gradient computed over parts of it (`_flax.chunked_conv_general_dilated`); on GPUs
and TPUs XLA's convolutions are left alone. `choose` holds the rule, measured with `bench/conv_lowering.py`
(docs/performance.md#cpu-convolutions). Every lowering computes the same function of the same parameters (names
and shapes unchanged: checkpoints and weights load either way), equal within float rounding.

Modes (`dslc train --conv-lowering`, or `$DSLC_CONV_LOWERING` for every command that builds a model):

- `auto` (default): the rule, on the CPU only (the only mode that gives depthwise convolutions `shifts`);
- `xla`: XLA's convolution everywhere;
- `im2col`: every convolution as im2col and one matrix product, and every transposed convolution that has a
  matrix-product form (stride equal to the kernel, dilation 1, 'same' or 'valid' padding) as that, on any backend;
- `chunks`: every convolution by XLA's, the kernel's gradient (and an unpadded convolution's output) computed over
  parts of the batch (`_flax.chunked_conv_general_dilated`), on any backend; transposed convolutions as in `im2col`.

No JAX at import: the rule reads the layers' `Construct`s and input tensors (and, for a model being trained,
`_flax.batch_parts`, which the chunks lowering splits its batch by).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

from dslc.spec.layers.base import Construct, Tensor

MODES = ("auto", "xla", "im2col", "chunks")
ENV = "DSLC_CONV_LOWERING"
# im2col keeps its patch matrix (window positions x the input) for the backward pass: about 6.5x XLA's temporaries
# for the same convolution (4x128x128x64 -> 64, 3x3 valid: 310 MiB against 47) for 0.7-0.85x its time. Past this
# many bytes of patches a step, `auto` keeps XLA's convolution (a U-Net at batch 4 took 18.8 GiB against 4.4).
IM2COL_MAX_PATCH_BYTES = 256 * 2**20


def mode_from_env() -> str:
    """`$DSLC_CONV_LOWERING` (one of MODES), or 'auto' when unset or empty."""
    mode = os.environ.get(ENV, "").strip() or "auto"
    if mode not in MODES:
        raise ValueError(f"${ENV} must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


def _transpose_matmul_fits(arguments: Mapping) -> bool:
    return (tuple(arguments["stride"]) == tuple(arguments["kernel"]) and set(arguments["dilation"]) <= {1}
            and arguments["padding"] in ("same", "valid"))


def choose(construct: Construct, x: Tensor, mode: str, platform: str, batch: int | None = None) -> str | None:
    """The lowering of one layer ('xla', 'im2col', 'chunks', 'shifts' or 'matmul'); None for a layer that is no
    convolution. `batch`: the examples a device trains on per step (None: not training)."""
    arguments = construct.arguments
    if construct.module == "ConvTranspose":
        if mode == "xla" or (mode == "auto" and platform != "cpu") or not _transpose_matmul_fits(arguments):
            return "xla"
        return "matmul"  # no overlap: one matrix product and a depth-to-space reshape, far faster on the CPU
    if construct.module != "Conv":
        return None
    if mode != "auto":
        return mode
    if platform != "cpu":
        return "xla"
    if depthwise(arguments):
        return "shifts"  # element-wise: 0.06-0.16x XLA's time on the CPU (docs/performance.md)
    if chunks_pay(arguments, x, batch):
        return "chunks"
    return "im2col" if im2col_pays(arguments) and _patches_fit(arguments, x, batch) else "xla"


def depthwise(arguments: Mapping) -> bool:
    """One group per input channel (`groups: depthwise`), which `_flax.shifted_depthwise_conv` computes."""
    groups = arguments.get("groups", 1)
    return groups > 1 and groups == arguments["in_features"]


def im2col_pays(arguments: Mapping) -> bool:
    """The measured rule for a convolution on the CPU (docs/performance.md#cpu-convolutions: bench/conv_lowering.py
    on 2 idle cores, forward and backward, jaxlib 0.10.2; end to end, `dslc train` on W2 and the digits CNNs):
    im2col where XLA's CPU convolution is slow and im2col is not.

    - grouped, not depthwise (more than one channel per group): XLA's takes about 2.5x im2col's time;
    - three spatial axes: XLA's about 2.5x;
    - a 1x1 window with stride 1: im2col is the matrix product itself, about 0.5x XLA's time;
    - 2D without padding, stride 1, dilation 1, where the batch does not split for `chunks`: XLA's unpadded 2D
      convolutions take longer than the same ones padded (28x28x32 -> 32: 224 ms against 139), im2col 0.5-0.7x
      XLA's time, W2's training step 0.75x;
    - not padded dense 2D convolutions (the digits CNNs' and ResNet's: im2col's training steps 2x XLA's time) nor
      1D ones (im2col 1.3-1.9x). (Depthwise ones take `shifts`, and dense 2D ones `chunks` where it pays, first.)
    """
    groups = arguments.get("groups", 1)
    if groups > 1:
        return arguments["in_features"] // groups > 1
    kernel = arguments["kernel"]
    if len(kernel) == 3 or _pointwise(arguments):
        return True
    return (len(kernel) == 2 and _unpadded(arguments["padding"]) and set(arguments["stride"]) == {1}
            and set(arguments["dilation"]) == {1})


def _patches_fit(arguments: Mapping, x: Tensor, batch: int | None) -> bool:
    """im2col's patch matrix for a step's batch (one example where no batch is given), counted in float32, stays
    within IM2COL_MAX_PATCH_BYTES; an input of unknown size is taken to fit."""
    positions = _output_positions(arguments, x)
    if positions is None:
        return True
    patches = (batch or 1) * positions * math.prod(arguments["kernel"]) * arguments["in_features"] * 4
    return patches <= IM2COL_MAX_PATCH_BYTES


def _pointwise(arguments: Mapping) -> bool:
    """A 1x1 window with stride 1: a matrix product over the channels."""
    return math.prod(arguments["kernel"]) == 1 and set(arguments["stride"]) == {1}


def _unpadded(padding: object) -> bool:
    """'valid', or explicit pairs that are all (0, 0)."""
    return padding == "valid" or (isinstance(padding, list | tuple) and all(tuple(pair) == (0, 0) for pair in padding))


def chunks_pay(arguments: Mapping, x: Tensor, batch: int | None) -> bool:
    """Dense 2D convolutions (not 1x1 with stride 1, which im2col computes as the matrix product itself) take
    `chunks` in training on the CPU where the batch splits (`_flax.batch_parts`): XLA's convolutions with the
    kernel's gradient (and an unpadded one's output) summed over parts of the batch, 0.46-0.87x XLA's time forward
    and backward from 16x16x32 at batch 128 up, padded or not, strided or dilated, below im2col's on every such
    shape; end to end the CIFAR-sized CNNs' steps 1.4-1.5x faster than XLA's, W2's 1.08x im2col's
    (docs/performance.md#cpu-convolutions). The digits CNNs' batches are too small to split."""
    if arguments.get("groups", 1) != 1 or len(arguments["kernel"]) != 2 or _pointwise(arguments):
        return False
    per_example = _output_elements(arguments, x)
    if batch is None or per_example is None:
        return False
    from dslc.spec.layers._flax import batch_parts  # only where a model is built: JAX is loaded already

    return batch_parts(batch, per_example) > 1


def _output_elements(arguments: Mapping, x: Tensor) -> int | None:
    """A convolution's output elements per example; None where an input size is unknown."""
    positions = _output_positions(arguments, x)
    return None if positions is None else positions * arguments["filters"]


def _output_positions(arguments: Mapping, x: Tensor) -> int | None:
    """A convolution's output positions (its spatial sizes' product) per example; None where an input size is
    unknown."""
    if None in x.shape[:-1]:
        return None
    spatial = [n for n in x.shape[:-1] if n is not None]
    padding, kernel = arguments["padding"], arguments["kernel"]
    sizes = [-(-n // s) if padding == "same" else (n + low + high - ((k - 1) * d + 1)) // s + 1
             for n, k, s, d, (low, high) in zip(spatial, kernel, arguments["stride"], arguments["dilation"],
                                                 [(0, 0)] * len(kernel) if isinstance(padding, str) else padding,
                                                 strict=True)]
    return math.prod(sizes)


def choices(made: Mapping[str, Construct], inputs: Mapping[str, Tensor], mode: str, platform: str,
            batch: int | None = None) -> dict[str, str]:
    """Each convolution layer's lowering, by name, in the order of `made` (`inputs`: each layer's input; `batch`:
    as for `choose`)."""
    found = {}
    for name, construct in made.items():
        chosen = choose(construct, inputs[name], mode, platform, batch) if name in inputs else None
        if chosen is not None:
            found[name] = chosen
    return found


def describe(chosen: Mapping[str, str], mode: str, platform: str, most: int = 6) -> str | None:
    """One line: which lowering each convolution got, e.g. 'conv lowering: im2col for conv2d_1, conv2d_2; xla
    for conv2d_3 (auto, cpu)'; None without convolutions. At most `most` names per lowering, then a count."""
    if not chosen:
        return None
    by: dict[str, list[str]] = {}
    for name, lowering in chosen.items():
        by.setdefault(lowering, []).append(name)
    parts = []
    for lowering, names in by.items():
        shown = ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")
        parts.append(f"{lowering} for {shown}")
    return f"conv lowering: {'; '.join(parts)} ({mode}, {platform})"
