"""A spec's model as an ONNX file, through jax2onnx (`dslc export --format onnx`, docs/onnx.md).

The forward pass in inference mode (`model(*inputs, train=False)`) is traced with a symbolic batch axis
(`batch`), so one file serves every batch size; the weights are initializers in the file. Inputs and outputs
take the spec's names. The result must pass `onnx.checker.check_model(full_check=True)` before anything is
written, and it is written to a temporary file moved into place: a failure leaves no file behind.

When jax2onnx cannot convert the model (or converts it into a file that fails the check), each layer is
converted on its own to find the ones it cannot express; when each converts alone, the first layer whose output
fails with the layers before it is found by bisection. The error (E808) names them with their place in the spec.
The conversion needs no onnxruntime; the tests and bench/onnx_models.py run the files in it.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import onnx  # the export extra: imported here, so that without it the writer's import says which extra to install
from jax2onnx import to_onnx  # type: ignore[import-untyped]  # ships no type information

from dslc.compiler.analysis.model import Analysis, LayerReport
from dslc.compiler.build import with_xla_convolutions
from dslc.spec.errors import DslcError, DslcErrors
from dslc.spec.layers.base import Tensor

OPSET = 23  # ONNX 1.18's opset (onnxruntime 1.22 and later run it); jax2onnx's default
BATCH = "batch"  # the symbolic batch axis' name in the file


def write_onnx(model: Any, analysis: Analysis, out: Path) -> None:
    """Write `model` (a `SpecModel`) as an ONNX file at `out`; E808 naming the layers ONNX cannot express."""
    with_xla_convolutions(model)  # ONNX's Conv and ConvTranspose, not the CPU's im2col or matmul lowerings

    def forward(*xs: jax.Array) -> Any:
        return model(*xs, train=False)

    unknown = [name for name, tensor in analysis.inputs if None in tensor.shape]
    if unknown:
        raise DslcErrors([DslcError("E808", f"input '{name}' has an unknown (null) dimension: the ONNX export traces "
                                            "fixed shapes, the batch axis aside", stage="run",
                                    hint="give the input's every dimension") for name in unknown])
    inputs = [_batched(tensor) for _, tensor in analysis.inputs]
    try:
        proto = _convert(forward, inputs, [name for name, _ in analysis.inputs], list(analysis.outputs))
    except Exception as exc:  # noqa: BLE001 - jax2onnx raises many types; find the layers responsible
        raise DslcErrors(_unconvertible_layers(model, analysis, exc)) from None
    _write_atomically(proto.SerializeToString(), out)


def _batched(tensor: Tensor) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct((BATCH, *tensor.shape), jnp.dtype(tensor.dtype))


def _convert(function: Callable[..., Any], inputs: list[jax.ShapeDtypeStruct], input_names: list[str] | None = None,
             output_names: list[str] | None = None) -> Any:
    """The ONNX model of `function`, converted and then checked in full (shapes and types inferred throughout)."""
    with _jax2onnx_0_12():
        proto = to_onnx(function, inputs, model_name="dslc", opset=OPSET, input_names=input_names,
                        output_names=output_names)
    _channels_first_pools(proto)
    onnx.checker.check_model(proto, full_check=True)
    return proto


_TRANSPOSE_PASSES = ("remove_redundant_transpose_pairs_ir", "remove_redundant_transpose_add_forests_ir")


def _keep_transposes(graph: Any) -> None:
    """In place of jax2onnx's `_TRANSPOSE_PASSES` (see `_jax2onnx_0_12`): leaves the graph as is."""


def _channels_first_pools(proto: Any) -> None:
    """Rewrite jax2onnx's max pooling to the form runtimes run, in place.

    jax2onnx lowers a channels-last `(B, *spatial, C)` max pool as a MaxPool over every axis of the array with two
    unit axes put in front (a window of 1 on the batch and channel axes): valid ONNX, but onnxruntime pools over 1
    to 3 spatial axes only ("Unsupported pooling size"). Such a node becomes squeeze, transpose to `(B, C,
    *spatial)`, the same pool over the spatial axes, and back.
    """
    from onnx import helper

    graph = proto.graph
    nodes = list(graph.node)
    del graph.node[:]
    front = f"{BATCH}_unit_axes"
    for node in nodes:
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        kernel = list(attributes.get("kernel_shape", ()))
        rank = len(kernel)  # the pooled array's rank: the window covers every axis
        if node.op_type != "MaxPool" or not 3 <= rank <= 5 or not _unit_ends(attributes, rank):
            graph.node.append(node)
            continue
        if front not in {init.name for init in graph.initializer}:
            graph.initializer.append(onnx.numpy_helper.from_array(np.asarray([0, 1], np.int64), front))
        x, pooled = node.output[0] + "_nhwc", node.output[0] + "_nchw"
        inner = {key: value for key, value in attributes.items() if key not in _WINDOWED}
        inner.update({key: list(attributes[key])[1:-1] for key in ("kernel_shape", "strides", "dilations")
                      if key in attributes})
        if "pads" in attributes:
            pads = list(attributes["pads"])
            inner["pads"] = pads[1:rank - 1] + pads[rank + 1:-1]
        graph.node.extend([
            helper.make_node("Squeeze", [node.input[0], front], [x]),
            helper.make_node("Transpose", [x], [x + "_t"], perm=[0, rank - 1, *range(1, rank - 1)]),
            helper.make_node("MaxPool", [x + "_t"], [pooled], **inner),
            helper.make_node("Transpose", [pooled], [pooled + "_t"], perm=[0, *range(2, rank), 1]),
            helper.make_node("Unsqueeze", [pooled + "_t", front], [node.output[0]]),
        ])


_WINDOWED = ("kernel_shape", "strides", "dilations", "pads")


def _unit_ends(attributes: dict[str, Any], rank: int) -> bool:
    """The window neither moves along nor pads the first and last axes (batch and channels)."""
    for key in ("kernel_shape", "strides", "dilations"):
        values = list(attributes.get(key, [1] * rank))
        if values[0] != 1 or values[-1] != 1:
            return False
    pads = list(attributes.get("pads", [0] * 2 * rank))
    return pads[0] == pads[rank - 1] == pads[rank] == pads[-1] == 0


@contextmanager
def _jax2onnx_0_12() -> Iterator[None]:
    """What jax2onnx 0.12 (the newest that fits the train extra, see pyproject.toml) needs under jax 0.10.

    - Its `nnx.Conv` plugin binds flax's `canonicalize_padding(...)`, a list for explicit padding, as a primitive
      parameter, which JAX (0.7 on) refuses as unhashable: a tuple, which JAX and Flax's own Conv take alike.
    - Its passes that remove inverse transposes (in pairs, and around trees of additions) drop some that a branch
      still needs, where a batch norm's output feeds an activation and a convolution and where a residual addition
      meets a strided block (residual and inverted-bottleneck blocks): onnx's full check finds the shapes in
      conflict. Without those two passes the file keeps the transposes, and is right.
    - It imports all its plugins on first use and logs a traceback for each that fails to import (the dm-pix ones
      under jax 0.10; dslc uses no dm-pix), its convolution plugin prints a debug line to stdout, onnx_ir warns
      about unused shape constants and the BatchNorm plugin (on the root logger) that it converts a batch norm to
      inference mode: none of it may bury dslc's own output.
    """
    from flax.nnx.nn import linear
    from jax2onnx.converter import ir_optimizations  # type: ignore[import-untyped]

    canonicalize = linear.canonicalize_padding
    passes = {name: getattr(ir_optimizations, name) for name in _TRANSPOSE_PASSES}
    loggers = [logging.getLogger(name) for name in ("jax2onnx.plugins.plugin_system", "onnx_ir.serde", "")]
    levels = [logger.level for logger in loggers]

    def hashable_padding(*args: Any, **kwargs: Any) -> Any:
        padding = canonicalize(*args, **kwargs)
        return tuple(padding) if isinstance(padding, list) else padding

    linear.canonicalize_padding = hashable_padding
    for name in passes:
        setattr(ir_optimizations, name, _keep_transposes)
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with redirect_stdout(io.StringIO()):
            yield
    finally:
        linear.canonicalize_padding = canonicalize
        for name, function in passes.items():
            setattr(ir_optimizations, name, function)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _unconvertible_layers(model: Any, analysis: Analysis, whole: Exception) -> list[DslcError]:
    """E808s naming the layers responsible: each layer that does not convert on its own, or else the first layer
    whose output does not convert with the layers before it (a pattern of layers jax2onnx gets wrong)."""
    shapes = dict(analysis.inputs) | {layer.name: layer.output for layer in analysis.layers}
    reports = {layer.name: layer for layer in analysis.layers}
    errors = []
    for name, sources in model.wiring:

        def alone(*xs: jax.Array, name: str = name) -> Any:
            return model.layers[name](*xs, train=False, **_table(model, name))

        cause = _failure(alone, [_batched(shapes[source]) for source in sources])
        if cause is not None:
            errors.append(_e808(reports[name], cause))
    if errors:
        return errors
    inputs = [_batched(tensor) for _, tensor in analysis.inputs]
    failing, cause = len(model.wiring), _failure(_prefix(model, len(model.wiring)), inputs)
    if cause is None:  # the last layer's output converts: the model's other outputs are at fault; say it whole
        return [DslcError("E808", f"the model cannot be exported as ONNX: {_first_line(whole)}", stage="run",
                          hint="export the model as stablehlo or safetensors")]
    low = 0  # prefixes of `low` layers convert, of `failing` layers do not: bisect for the first that does not
    while failing - low > 1:
        middle = (low + failing) // 2
        found = _failure(_prefix(model, middle), inputs)
        low, failing, cause = (middle, failing, cause) if found is None else (low, middle, found)
    layer = reports[model.wiring[failing - 1][0]]
    return [_e808(layer, cause, "together with the layers before it ")]


def _table(model: Any, name: str) -> dict[str, Any]:
    """A tied head's keyword argument: the embedding whose table it shares."""
    tables = {head: model.layers[embedding] for head, embedding in model.tied}
    return {"table": tables[name]} if name in tables else {}


def _prefix(model: Any, count: int) -> Callable[..., Any]:
    """The forward pass through the first `count` layers (in `model.wiring`'s order), returning the last's output."""

    def forward(*xs: jax.Array) -> Any:
        values = {name: model._entry(x) for name, x in zip(model.inputs, xs, strict=True)}
        for name, sources in model.wiring[:count]:
            values[name] = model.layers[name](*(values[s] for s in sources), train=False, **_table(model, name))
        return values[model.wiring[count - 1][0]]

    return forward


def _failure(function: Callable[..., Any], inputs: list[jax.ShapeDtypeStruct]) -> str | None:
    try:
        _convert(function, inputs)
    except Exception as exc:  # noqa: BLE001 - a conversion or check failure: this part's ONNX is not right
        return _first_line(exc)
    return None


def _e808(layer: LayerReport, cause: str, where: str = "") -> DslcError:
    return DslcError("E808", f"layer '{layer.name}' ({layer.kind}) cannot be exported as ONNX {where}({cause})",
                     span=layer.span, stage="run", hint="export the model as stablehlo or safetensors, or replace "
                                                         "the layer")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


def _write_atomically(data: bytes, out: Path) -> None:
    handle, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, out)
    except BaseException:
        os.unlink(temporary)
        raise
