"""`dslc export --format onnx` end to end: a digits MLP trained for one epoch, exported and run in onnxruntime on raw
inputs prepared as training prepares them, against `dslc predict --raw`; a model with a layer that cannot be
exported is one E808 naming it, exit 2, and no file."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from dslc.runtime.cli import main
from tests.cli_helpers import dslc

pytest.importorskip("jax2onnx")
pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
SPEC = EXAMPLES / "digits_mlp.yaml"  # convolutions export too: tests/compiler/test_onnx_export.py
ROWS = 12
UPSAMPLING = """dslc: 1
model:
  name: upsampling
  inputs: {image: [8, 8, 1]}
  layers:
    - conv2d_transpose: {filters: 2, kernel: 3, stride: 2, padding: same}
      name: up
    - flatten
    - dense: {units: 10}
train:
  loss: softmax_cross_entropy
  optimizer: {adam: {lr: 0.01}}
  batch: 256
  epochs: 1
  data: digits
"""


def test_the_onnx_file_gives_what_dslc_predict_gives_on_the_same_raw_inputs(tmp_path: Path) -> None:
    from sklearn.datasets import load_digits

    result = dslc("train", str(SPEC), "--epochs", "1", "--workdir", str(tmp_path / "run"), "--quiet")
    assert result.returncode == 0, result.stderr
    raw = load_digits().data[:ROWS]
    np.save(tmp_path / "x.npy", raw)
    result = dslc("predict", str(SPEC), "--checkpoint", str(tmp_path / "run"), "--input", str(tmp_path / "x.npy"),
                  "--output", str(tmp_path / "raw.npy"), "--raw")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "model.onnx"
    result = dslc("export", str(SPEC), "--checkpoint", str(tmp_path / "run"), "-o", str(out), "--format", "onnx")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"wrote {out}: the forward pass as ONNX") and result.stderr == ""
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    prepared = (raw / 16.0).astype(np.float32).reshape(ROWS, 8, 8, 1)  # the digits' minmax scale, the input's shape
    (got,) = session.run(None, {"image": prepared})
    np.testing.assert_allclose(got, np.load(tmp_path / "raw.npy"), rtol=1e-4, atol=1e-5)


def test_a_layer_onnx_cannot_express_is_one_e808_naming_it_exit_2_and_no_file(tmp_path: Path) -> None:
    spec = tmp_path / "upsampling.yaml"  # jax2onnx 0.12 drops a transposed convolution's stride
    spec.write_text(UPSAMPLING)
    result = dslc("train", str(spec), "--workdir", str(tmp_path / "run"), "--quiet")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "model.onnx"
    result = dslc("export", str(spec), "--checkpoint", str(tmp_path / "run"), "-o", str(out), "--format", "onnx")
    assert result.returncode == 2 and result.stdout == ""
    headline = result.stderr.splitlines()[0]
    assert headline.startswith(f"{spec}:6:7: error[E808]: layer 'up' (conv2d_transpose) cannot be exported as "
                                "ONNX"), headline
    assert "hint: export the model as stablehlo or safetensors" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "upsampling.yaml"]


def test_without_the_export_extra_one_line_says_which_to_install(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str],
                                                                 tmp_path: Path) -> None:
    import dslc.runtime.trained

    monkeypatch.setattr(dslc.runtime.trained, "open_trained_model", lambda *args: None)  # no run needed to get there
    monkeypatch.setitem(sys.modules, "jax2onnx", None)  # as if not installed: importing it fails
    monkeypatch.delitem(sys.modules, "dslc.compiler.onnx_export", raising=False)
    assert main(["export", str(SPEC), "-o", str(tmp_path / "model.onnx"), "--format", "onnx"]) == 2
    assert capsys.readouterr().err == ("dslc export: needs the export extra (jax2onnx is not installed): "
                                       "pip install 'dslc[export]'\n")
    assert not (tmp_path / "model.onnx").exists()
