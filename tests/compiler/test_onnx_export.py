"""ONNX export (dslc.compiler.onnx_export): example models with random weights, checked in full by onnx and run in
onnxruntime against the model itself; what jax2onnx cannot convert is an E808 naming the layer, with no file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("jax2onnx")
onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

from dslc.api import analyse, load  # noqa: E402 - after the skips: without the export extra nothing here runs
from dslc.compiler.build import build_model  # noqa: E402
from dslc.compiler.onnx_export import write_onnx  # noqa: E402
from dslc.spec.errors import DslcErrors  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
# Small and quick to convert; between them: two inputs, dense, conv2d with `same` and explicit padding (jax2onnx's
# padding worked around), depthwise conv2d and batch norms in residual blocks (its transposes kept), layer norm,
# attention, embeddings of integer ids. Max pooling (rewritten for onnxruntime): tests/runtime/test_export_onnx_cli.py.
SPECS = ["two_branch.yaml", "zoo/mobilenet_v2_tiny.yaml", "zoo/convnext_tiny_tiny.yaml", "zoo/bert_base_tiny.yaml"]


def built(spec: Path):
    loaded = load(spec)
    analysis = analyse(loaded)
    return build_model(loaded, analysis, seed=0), analysis


def random_inputs(model, analysis, batch: int) -> list[np.ndarray]:
    """Standard normal floats; integer ids that every embedding table has a row for."""
    from flax import nnx

    rng = np.random.default_rng(0)
    vocab = min((m.num_embeddings for _, m in nnx.iter_graph(model) if isinstance(m, nnx.Embed)), default=2)
    return [rng.integers(0, vocab, (batch, *t.shape)).astype(t.dtype) if np.issubdtype(np.dtype(t.dtype), np.integer)
            else rng.standard_normal((batch, *t.shape)).astype(t.dtype) for _, t in analysis.inputs]


@pytest.mark.parametrize("name", SPECS)
def test_an_example_exports_checks_in_full_and_runs_as_the_model_does(name: str, tmp_path: Path) -> None:
    model, analysis = built(EXAMPLES / name)
    out = tmp_path / "model.onnx"
    write_onnx(model, analysis, out)
    proto = onnx.load(str(out))
    onnx.checker.check_model(proto, full_check=True)
    assert [i.name for i in proto.graph.input] == [name for name, _ in analysis.inputs]
    assert [o.name for o in proto.graph.output] == list(analysis.outputs)
    assert all(i.type.tensor_type.shape.dim[0].dim_param == "batch" for i in proto.graph.input)  # any batch size
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    xs = random_inputs(model, analysis, 3)
    got = session.run(None, {i.name: x for i, x in zip(session.get_inputs(), xs, strict=True)})
    expected = model(*xs, train=False)
    expected = expected if isinstance(expected, tuple) else (expected,)
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, np.asarray(e), rtol=1e-4, atol=1e-5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]  # no temporary file left over


def test_a_layer_jax2onnx_cannot_convert_is_e808_at_its_place_and_nothing_is_written(tmp_path: Path) -> None:
    spec = tmp_path / "recurrent.yaml"
    spec.write_text("dslc: 1\nmodel:\n  name: recurrent\n  inputs: {rows: [8, 8]}\n  layers:\n"
                    "    - dense: {units: 4}\n    - lstm: {units: 4}\n      name: memory\n    - dense: {units: 2}\n")
    model, analysis = built(spec)
    with pytest.raises(DslcErrors) as caught:
        write_onnx(model, analysis, tmp_path / "model.onnx")
    (error,) = caught.value.errors
    assert error.code == "E808" and error.message.startswith("layer 'memory' (lstm) cannot be exported as ONNX")
    assert error.span is not None and (error.span.file, error.span.line) == (str(spec), 7)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recurrent.yaml"]


def test_layers_that_convert_alone_but_not_together_name_the_first_that_breaks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dslc.compiler import onnx_export

    def two_convolutions_fail(function, inputs, *names):  # a stand-in for a pattern of layers jax2onnx gets wrong
        proto = convert(function, inputs, *names)
        if sum(node.op_type == "Conv" for node in proto.graph.node) > 1:
            raise ValueError("two convolutions")
        return proto

    convert = onnx_export._convert
    monkeypatch.setattr(onnx_export, "_convert", two_convolutions_fail)
    spec = tmp_path / "two_convolutions.yaml"
    spec.write_text("dslc: 1\nmodel:\n  name: two_convolutions\n  inputs: {image: [8, 8, 1]}\n  layers:\n"
                    "    - conv2d: {filters: 4, kernel: 3, activation: relu}\n    - layernorm\n"
                    "    - conv2d: {filters: 4, kernel: 3}\n      name: second\n    - flatten\n"
                    "    - dense: {units: 2}\n")
    model, analysis = built(spec)
    with pytest.raises(DslcErrors) as caught:
        write_onnx(model, analysis, tmp_path / "model.onnx")
    (error,) = caught.value.errors
    assert error.code == "E808" and error.message == ("layer 'second' (conv2d) cannot be exported as ONNX together "
                                                      "with the layers before it (ValueError: two convolutions)")
    assert not (tmp_path / "model.onnx").exists()
