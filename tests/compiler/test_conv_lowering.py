"""Convolution lowerings (compiler/conv_lowering.py, _flax.im2col_conv_general_dilated, _flax.shifted_depthwise_conv,
_flax.chunked_conv_general_dilated, _flax.transpose_by_matmul):
every kind, padding, stride, dilation and grouping computes what XLA's convolution computes, forward and gradients,
with the same parameters; the rule and its line; `dslc train --conv-lowering` trains to the same losses."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from dslc.compiler import conv_lowering
from dslc.compiler.build import build_model, constructs, conv_lowerings, tensors_of, with_xla_convolutions
from dslc.compiler.random_draws import flat_drawing
from dslc.compiler.weights import parameter_names
from dslc.runtime.cli import main
from dslc.spec.layers import _flax
from dslc.spec.layers._flax import Conv, ConvTranspose
from dslc.spec.layers.base import Construct, Tensor
from dslc.spec.load import load_text

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
# Modules and inputs draw from `flat_drawing` keys: threefry's values, in programs XLA compiles in a fraction of
# the time (dslc.compiler.random_draws); each shape here is drawn once, so its draw's compile is the test's cost.
TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}

# (input shape without the batch, Conv arguments): conv1d, conv2d and conv3d; valid, same and explicit pairs;
# strides, dilations, grouped and depthwise (with a channel multiplier); windows wider than they are tall.
CONVS = [
    ((11, 3), dict(filters=4, kernel=(3,), stride=(1,), dilation=(1,), padding="valid")),
    ((11, 3), dict(filters=5, kernel=(4,), stride=(3,), dilation=(1,), padding="same")),
    ((12, 4), dict(filters=4, kernel=(3,), stride=(2,), dilation=(2,), padding=((2, 1),), groups=2)),
    ((9, 10, 3), dict(filters=4, kernel=(3, 3), stride=(1, 1), dilation=(1, 1), padding="valid")),
    ((9, 10, 3), dict(filters=4, kernel=(3, 3), stride=(1, 1), dilation=(1, 1), padding="same")),
    ((9, 10, 3), dict(filters=4, kernel=(3, 2), stride=(2, 1), dilation=(1, 2), padding="same")),
    ((9, 10, 3), dict(filters=4, kernel=(2, 3), stride=(2, 3), dilation=(1, 1), padding="valid")),
    ((9, 10, 4), dict(filters=8, kernel=(3, 3), stride=(1, 2), dilation=(2, 1), padding=((1, 2), (0, 1)), groups=2)),
    ((9, 10, 4), dict(filters=8, kernel=(3, 3), stride=(1, 1), dilation=(1, 1), padding="same", groups=4)),
    ((9, 10, 4), dict(filters=4, kernel=(3, 3), stride=(2, 2), dilation=(1, 1), padding=((0, 0), (3, 0)), groups=4)),
    ((9, 10, 4), dict(filters=6, kernel=(1, 1), stride=(1, 1), dilation=(1, 1), padding="valid")),
    ((8, 8, 1), dict(filters=5, kernel=(3, 3), stride=(1, 1), dilation=(1, 1), padding="valid")),
    ((5, 6, 7, 3), dict(filters=5, kernel=(2, 3, 2), stride=(1, 2, 1), dilation=(1, 1, 2), padding="valid")),
    ((5, 6, 5, 2), dict(filters=2, kernel=(3, 3, 3), stride=(1, 1, 1), dilation=(1, 1, 1), padding="same")),
]

# depthwise convolutions (one group per input channel): those of CONVS, and 1D and 3D ones with a multiplier,
# strides and dilations
DEPTHWISE = [conv for conv in CONVS if conv[1].get("groups") == conv[0][-1]] + [
    ((13, 3), dict(filters=6, kernel=(5,), stride=(2,), dilation=(2,), padding="same", groups=3)),
    ((12, 2), dict(filters=2, kernel=(3,), stride=(1,), dilation=(1,), padding=((2, 0),), groups=2)),
    ((5, 6, 5, 2), dict(filters=4, kernel=(3, 2, 3), stride=(1, 2, 1), dilation=(1, 1, 2), padding="valid", groups=2)),
    ((10, 9, 6), dict(filters=6, kernel=(7, 7), stride=(1, 1), dilation=(1, 1), padding="same", groups=6)),
]

# transposed convolutions with a matrix-product form: stride == kernel, dilation 1, 'same' or 'valid'
TRANSPOSES = [
    ((5, 3), dict(filters=4, kernel=(2,), stride=(2,), dilation=(1,), padding="valid")),
    ((5, 6, 3), dict(filters=5, kernel=(2, 2), stride=(2, 2), dilation=(1, 1), padding="valid")),
    ((5, 6, 3), dict(filters=5, kernel=(2, 2), stride=(2, 2), dilation=(1, 1), padding="same")),
    ((4, 5, 3), dict(filters=2, kernel=(3, 2), stride=(3, 2), dilation=(1, 1), padding="same")),
    ((3, 4, 2, 3), dict(filters=4, kernel=(2, 2, 2), stride=(2, 2, 2), dilation=(1, 1, 1), padding="valid")),
]


def _both(module: Any, lowering: str, x: jax.Array) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """(output, gradients of a non-linear loss by parameters and input) with XLA's and with `lowering`, computed
    in one compiled program."""
    graphdefs = []
    for name in ("xla", lowering):
        module.lower(name)
        graphdef, state = nnx.split(module)
        graphdefs.append(graphdef)

    @jax.jit
    def both(state: Any, x: jax.Array) -> list[tuple[Any, ...]]:
        results = []
        for graphdef in graphdefs:
            def loss(state: Any, x: jax.Array, graphdef: Any = graphdef) -> jax.Array:
                return jnp.sum(jnp.sin(nnx.merge(graphdef, state)(x)))

            grads = jax.grad(loss, argnums=(0, 1))(state, x)
            results.append((nnx.merge(graphdef, state)(x), *jax.tree.leaves(grads)))
        return results

    xla, other = both(state, x)
    return xla, other


@pytest.mark.parametrize(("shape", "arguments"), CONVS, ids=lambda value: str(value))
def test_im2col_computes_xla_convolution_and_its_gradients(shape: tuple[int, ...], arguments: dict) -> None:
    _agrees_with_xla(shape, arguments, "im2col")


def _agrees_with_xla(shape: tuple[int, ...], arguments: dict, lowering: str,
                     examples: int = 2) -> tuple[Conv, jax.Array]:
    """A convolution of `arguments` on a batch of `shape` computed by `lowering`: the same output, bias and kernel
    gradients and input gradient as XLA's (dtypes included); the module and its input."""
    module = Conv(shape[-1], rngs=nnx.Rngs(flat_drawing(0)), **arguments)
    x = jax.random.normal(flat_drawing(1), (examples, *shape))
    xla, other = _both(module, lowering, x)
    assert len(xla) == len(other) == 4  # output, bias and kernel gradients, input gradient
    for expected, got in zip(xla, other, strict=True):
        assert got.shape == expected.shape and got.dtype == expected.dtype
        np.testing.assert_allclose(got, expected, **TOLERANCE)
    return module, x


@pytest.mark.parametrize(("shape", "arguments"), DEPTHWISE, ids=lambda value: str(value))
def test_shifts_computes_xla_depthwise_convolution_and_its_gradients(shape: tuple[int, ...], arguments: dict) -> None:
    _agrees_with_xla(shape, arguments, "shifts")


@pytest.mark.parametrize(("shape", "arguments"), [CONVS[i] for i in (2, 3, 4, 7, 13)], ids=lambda value: str(value))
def test_chunks_computes_xla_convolution_and_its_gradients(shape: tuple[int, ...], arguments: dict,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_flax, "PART_ELEMENTS", 1)  # so that a batch of 4 splits into 4 parts
    module, x = _agrees_with_xla(shape, arguments, "chunks", examples=4)
    module.lower("chunks")
    padded = arguments["padding"] != "valid"
    # forward (4 parts where unpadded), the input's gradient, the kernel's gradient in 4 parts
    assert _convolutions_in_gradients(module, x) == (1 if padded else 4) + 1 + 4


def _convolutions_in_gradients(module: Conv, x: jax.Array) -> int:
    """The convolutions in the program of the module's output, parameter and input gradients at `x`."""
    graphdef, state = nnx.split(module)
    gradients = jax.grad(lambda state, x: jnp.sum(jnp.sin(nnx.merge(graphdef, state)(x))), argnums=(0, 1))
    return jax.jit(gradients).lower(state, x).as_text().count("stablehlo.convolution")


def test_chunks_keeps_a_small_batch_whole() -> None:
    """Parts of fewer than PART_ELEMENTS output elements gain nothing: the batch stays one XLA convolution."""
    module = Conv(3, 4, (3, 3), stride=(1, 1), dilation=(1, 1), padding="same", lowering="chunks",
                  rngs=nnx.Rngs(flat_drawing(0)))
    # forward, the input's and the kernel's gradients
    assert _convolutions_in_gradients(module, jnp.ones((8, 9, 10, 3))) == 3
    assert _flax.batch_parts(128, 11 * 11 * 64) == 4 and _flax.batch_parts(64, 8 * 8 * 32) == 1
    assert _flax.batch_parts(128, 32 * 32 * 32) == 8 and _flax.batch_parts(7, 2**17) == 7


def test_shifts_in_bfloat16_sums_in_float32() -> None:
    arguments = dict(filters=8, kernel=(3, 3), stride=(1, 1), dilation=(1, 1), padding="same", groups=8)
    module = Conv(8, dtype="bfloat16", rngs=nnx.Rngs(flat_drawing(0)), **arguments)
    x = jax.random.normal(flat_drawing(1), (2, 6, 6, 8)).astype(jnp.bfloat16)
    xla, shifts = _both(module, "shifts", x)
    assert shifts[0].dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(shifts[0], np.float32), np.asarray(xla[0], np.float32), rtol=2e-2, atol=2e-2)


def test_shifts_refuses_a_convolution_that_is_not_depthwise() -> None:
    module = Conv(4, 4, (3, 3), stride=(1, 1), dilation=(1, 1), padding="same", groups=2,
                  rngs=nnx.Rngs(flat_drawing(0)))
    with pytest.raises(ValueError, match="depthwise"):
        module.lower("shifts")


@pytest.mark.parametrize(("shape", "arguments"), TRANSPOSES, ids=lambda value: str(value))
def test_transpose_matmul_computes_xla_transposed_convolution(shape: tuple[int, ...], arguments: dict) -> None:
    module = ConvTranspose(shape[-1], rngs=nnx.Rngs(flat_drawing(0)), **arguments)
    x = jax.random.normal(flat_drawing(1), (2, *shape))
    xla, matmul = _both(module, "matmul", x)
    for expected, got in zip(xla, matmul, strict=True):
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, **TOLERANCE)


def test_transpose_matmul_refuses_overlapping_windows() -> None:
    module = ConvTranspose(3, 4, (3, 3), stride=(2, 2), dilation=(1, 1), padding="same", rngs=nnx.Rngs(flat_drawing(0)))
    with pytest.raises(ValueError, match="stride == kernel"):
        module.lower("matmul")


SPEC = """dslc: 1
model:
  name: every_conv
  inputs: {image: [12, 12, 4], sequence: [16, 3], volume: [6, 6, 6, 2]}
  layers:
    - conv2d: {filters: 8, kernel: 3, padding: same, activation: relu}
      from: image
    - conv2d: {filters: 8, kernel: 3, groups: depthwise, stride: 2}
    - conv2d: {filters: 8, kernel: 1}
    - conv2d: {filters: 4, kernel: 3, groups: 2, padding: same}
    - conv2d: {filters: 4, kernel: 3}
    - conv2d_transpose: {filters: 4, kernel: 2, stride: 2}
    - conv2d_transpose: {filters: 4, kernel: 3, stride: 2, padding: same}
    - flatten: {}
      name: image_out
    - conv1d: {filters: 4, kernel: 3, dilation: 2, padding: [[1, 3]]}
      from: sequence
    - conv1d_transpose: {filters: 2, kernel: 2, stride: 2}
    - flatten: {}
      name: sequence_out
    - conv3d: {filters: 3, kernel: 2, padding: valid}
      from: volume
    - flatten: {}
      name: volume_out
    - concat: {}
      from: [image_out, sequence_out, volume_out]
    - dense: {units: 3}
"""


def _spec() -> tuple[Any, Any]:
    return _checked(SPEC)


def _checked(text: str) -> tuple[Any, Any]:
    from dslc.compiler.check import check_loaded

    return check_loaded(load_text(text, "yaml", "every_conv.yaml")).valid()


def test_every_lowering_builds_the_same_parameters_and_outputs() -> None:
    loaded, analysis = _spec()
    inputs = [jax.random.normal(flat_drawing(i), (2, *shape))
              for i, shape in enumerate(((12, 12, 4), (16, 3), (6, 6, 6, 2)))]
    model = build_model(loaded, analysis, seed=3, conv_lowering="xla", platform="cpu")
    graphdefs, names = {}, {"xla": parameter_names(model)}
    for mode in ("im2col", "chunks", "auto"):  # the same parameters: the model's state fits the other lowerings' graphs
        shaped = nnx.eval_shape(lambda mode=mode: build_model(loaded, analysis, seed=3, conv_lowering=mode,
                                                               platform="cpu"))
        names[mode] = parameter_names(shaped)
        graphdefs[mode] = nnx.split(shaped)[0]
        assert {name: layer.lowering for name, layer in shaped.layers.items() if hasattr(layer, "lowering")} == \
            conv_lowerings(loaded.graph, analysis, mode=mode, platform="cpu")[0]
    assert names["xla"] == names["im2col"] == names["chunks"] == names["auto"]
    xla_graph, state = nnx.split(model)

    @jax.jit
    def outputs(state: Any, *inputs: jax.Array) -> dict[str, jax.Array]:
        return {mode: nnx.merge(graph, state)(*inputs) for mode, graph in (("xla", xla_graph), *graphdefs.items())}

    found = outputs(state, *inputs)
    for mode in ("im2col", "chunks", "auto"):
        np.testing.assert_allclose(found[mode], found["xla"], **TOLERANCE)


def test_exports_keep_xla_convolutions() -> None:
    loaded, analysis = _spec()
    model = nnx.eval_shape(lambda: build_model(loaded, analysis, conv_lowering="im2col", platform="cpu"))
    lowered = {name: layer.lowering for name, layer in model.layers.items() if hasattr(layer, "lowering")}
    assert "im2col" in lowered.values() and "matmul" in lowered.values()
    with_xla_convolutions(model)
    assert {layer.lowering for layer in model.layers.values() if hasattr(layer, "lowering")} == {"xla"}


def test_the_rule_per_mode_and_platform() -> None:
    loaded, analysis = _spec()
    forced, mode, platform = conv_lowerings(loaded.graph, analysis, mode="im2col", platform="cpu")
    assert (mode, platform) == ("im2col", "cpu")
    assert forced == {"conv2d_1": "im2col", "conv2d_2": "im2col", "conv2d_3": "im2col", "conv2d_4": "im2col",
                      "conv2d_5": "im2col", "conv2d_transpose_1": "matmul", "conv2d_transpose_2": "xla",
                      "conv1d_1": "im2col", "conv1d_transpose_1": "matmul", "conv3d_1": "im2col"}
    assert set(conv_lowerings(loaded.graph, analysis, mode="xla", platform="cpu")[0].values()) == {"xla"}
    assert set(conv_lowerings(loaded.graph, analysis, mode="auto", platform="gpu")[0].values()) == {"xla"}
    # the CPU's rule (bench/conv_lowering.py): shifted copies for depthwise convolutions; XLA's for padded dense 3x3,
    # strided and 1D ones; im2col for unpadded 2D 3x3, 1x1, grouped and 3D ones; one matrix product for transposed
    # ones without overlap
    assert conv_lowerings(loaded.graph, analysis, mode="auto", platform="cpu")[0] == {
        "conv2d_1": "xla", "conv2d_2": "shifts", "conv2d_3": "im2col", "conv2d_4": "im2col", "conv2d_5": "im2col",
        "conv2d_transpose_1": "matmul", "conv2d_transpose_2": "xla", "conv1d_1": "xla",
        "conv1d_transpose_1": "matmul", "conv3d_1": "im2col"}
    assert conv_lowering.describe({"a": "im2col", "b": "xla", "c": "im2col"}, "auto", "cpu") == \
        "conv lowering: im2col for a, c; xla for b (auto, cpu)"
    assert conv_lowering.describe({}, "auto", "cpu") is None


def test_the_mode_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(conv_lowering.ENV, raising=False)
    assert conv_lowering.mode_from_env() == "auto"
    monkeypatch.setenv(conv_lowering.ENV, "im2col")
    assert conv_lowering.mode_from_env() == "im2col"
    monkeypatch.setenv(conv_lowering.ENV, "fast")
    with pytest.raises(ValueError, match="DSLC_CONV_LOWERING"):
        conv_lowering.mode_from_env()


@pytest.mark.parametrize(("padding", "stride", "dilation", "lowering"), [
    ("valid", (1, 1), (1, 1), "im2col"), (((0, 0), (0, 0)), (1, 1), (1, 1), "im2col"),
    (((0, 0), (1, 0)), (1, 1), (1, 1), "xla"), ("same", (1, 1), (1, 1), "xla"),
    ("valid", (2, 2), (1, 1), "xla"), ("valid", (1, 1), (2, 2), "xla"), ("same", (2, 2), (1, 1), "xla")])
def test_the_cpu_rule_for_dense_2d_convolutions(padding: Any, stride: tuple[int, int], dilation: tuple[int, int],
                                                 lowering: str) -> None:
    """Dense 2D convolutions take chunks where the training batch splits; otherwise XLA's unpadded 2D convolutions
    are its slow ones on the CPU: only those (stride 1, no dilation) take im2col."""
    construct = Construct("Conv", {"in_features": 32, "filters": 64, "kernel": (3, 3), "stride": stride,
                                   "dilation": dilation, "padding": padding})
    x = Tensor((13, 13, 32), "float32")
    assert conv_lowering.choose(construct, x, "auto", "cpu") == lowering
    assert conv_lowering.choose(construct, x, "auto", "gpu", batch=128) == "xla"
    assert conv_lowering.choose(construct, x, "auto", "cpu", batch=128) == "chunks"  # the batch splits
    assert conv_lowering.choose(construct, x, "auto", "cpu", batch=8) == lowering  # too small to split
    unknown = Tensor((None, 13, 32), "float32")
    assert conv_lowering.choose(construct, unknown, "auto", "cpu", batch=128) == lowering
    pointwise = Construct("Conv", {**construct.arguments, "kernel": (1, 1), "stride": (1, 1)})
    assert conv_lowering.choose(pointwise, x, "auto", "cpu", batch=128) == "im2col"  # the matrix product itself


@pytest.mark.parametrize(("shape", "arguments"), [conv for conv in CONVS if len(conv[0]) == 3],
                         ids=lambda value: str(value))
def test_the_rule_counts_a_convolutions_output_as_the_analysis_does(shape: tuple[int, ...], arguments: dict) -> None:
    """The output elements per example that decide whether a batch splits (chunks): the analysis's output shape."""
    text = (f"dslc: 1\nmodel:\n  name: one_conv\n  inputs: {{x: {list(shape)}}}\n  layers:\n    - conv2d: "
            f"{json.dumps({**arguments, 'padding': _spec_padding(arguments['padding'])})}\n")
    loaded, analysis = _checked(text)
    output = tensors_of(analysis)[loaded.graph.nodes[0].name]
    construct = constructs(loaded.graph, analysis)[loaded.graph.nodes[0].name]
    assert conv_lowering._output_elements(construct.arguments, Tensor(shape, "float32")) == math.prod(output.shape)


def _spec_padding(padding: Any) -> Any:
    return padding if isinstance(padding, str) else [list(pair) for pair in padding]


def test_im2col_gives_way_to_xla_where_its_patches_would_be_large() -> None:
    """An unpadded convolution takes im2col on the CPU while its patch matrix for the batch stays within
    IM2COL_MAX_PATCH_BYTES (it keeps about 6.5x XLA's temporaries), XLA's convolution past that."""
    construct = Construct("Conv", {"in_features": 64, "filters": 64, "kernel": (3, 3), "stride": (1, 1),
                                   "dilation": (1, 1), "padding": "valid"})
    unet = Tensor((570, 570, 64), "float32")  # U-Net's second layer: 568 x 568 x 9 x 64 floats an example
    assert 568 * 568 * 9 * 64 * 4 > conv_lowering.IM2COL_MAX_PATCH_BYTES
    assert conv_lowering.choose(construct, unet, "auto", "cpu", batch=1) == "xla"
    assert conv_lowering.choose(construct, unet, "auto", "cpu") == "xla"  # inference: one example's patches
    small = Tensor((30, 30, 64), "float32")  # 28 x 28 x 9 x 64 floats an example: 1.8 MiB
    assert conv_lowering.choose(construct, small, "auto", "cpu", batch=2) == "im2col"  # too small to split
    assert conv_lowering.choose(construct, small, "auto", "cpu", batch=512) == "chunks"  # the batch splits
    assert conv_lowering.choose(construct, unet, "im2col", "cpu", batch=4) == "im2col"  # asked for, given


def test_choose_ignores_other_layers() -> None:
    assert conv_lowering.choose(Construct("Dense", {}), Tensor((4,), "float32"), "im2col", "cpu") is None


def test_train_trains_to_the_same_losses_with_either_lowering(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_flax, "PART_ELEMENTS", 2**12)  # the digits CNN's batch of 64 in 8 parts with chunks
    losses = {}
    for mode in ("xla", "im2col", "chunks"):
        workdir = tmp_path / mode
        assert main(["train", str(EXAMPLES / "digits_cnn.yaml"), "--epochs", "1", "--workdir", str(workdir),
                     "--conv-lowering", mode]) == 0
        captured = capsys.readouterr()
        assert f"conv lowering: {mode} for conv2d_1, conv2d_2, conv2d_3 ({mode}, cpu)" in captured.out + captured.err
        records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
        losses[mode] = [record["loss"] for record in records]
        np.testing.assert_allclose(losses[mode], losses["xla"], rtol=1e-4)
