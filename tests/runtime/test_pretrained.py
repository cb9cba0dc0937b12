"""Initial weights (`train.init`): checked at `dslc check` from the file's header, loaded name by name before
training, frozen layers kept exactly, PyTorch's layout converted, and a trained model's export loaded back to the
same metrics bit for bit. Driven through the CLI on spec files, as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from dslc.runtime.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
SPEC = """dslc 1
model m(image: [6, 6, 2]) {{
  features: conv2d(3, 3, activation=relu{frozen})
  global_avgpool
  head: dense(2)
}}
train {{
  loss = softmax_cross_entropy
  optimizer = adam(0.05)
  batch = 16
  epochs = 2
  data = npy(x="x.npy", y="y.npy")
  init = [{init}]
}}
"""


def write(folder: Path, init: str, frozen: bool = False, name: str = "spec.dsl") -> Path:
    """A small CNN spec and its data (64 random 6x6x2 images, labels from their mean) in `folder`."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6, 6, 2)).astype(np.float32)
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", (x.mean(axis=(1, 2, 3)) > 0).astype(np.int32))
    path = folder / name
    path.write_text(SPEC.format(init=init, frozen=", trainable=false" if frozen else ""))
    return path


def torch_layout(seed: int = 1) -> dict[str, np.ndarray]:
    """A conv (out, in, h, w) and a dense (out, in) layer's tensors as PyTorch names and lays them out."""
    rng = np.random.default_rng(seed)
    return {"conv.weight": rng.standard_normal((3, 2, 3, 3)).astype(np.float32),
            "conv.bias": rng.standard_normal(3).astype(np.float32),
            "fc.weight": rng.standard_normal((2, 3)).astype(np.float32),
            "fc.bias": rng.standard_normal(2).astype(np.float32)}


TORCH_INIT = ('safetensors("torch.safetensors", rename=[["conv.", "layers.features."], ["fc.", "layers.head."]], '
              'layout=pytorch)')


def pytorch_forward(weights: dict[str, np.ndarray], images: np.ndarray) -> np.ndarray:
    """What the PyTorch module computes: Conv2d (cross-correlation, NCHW, no padding), ReLU, the spatial mean,
    Linear (x @ W.T + b), written out in numpy."""
    x = images.transpose(0, 3, 1, 2)  # NHWC -> NCHW
    kernel, (out_h, out_w) = weights["conv.weight"], (x.shape[2] - 2, x.shape[3] - 2)
    conv = np.zeros((len(x), 3, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            conv[:, :, i, j] = np.einsum("nchw,ochw->no", x[:, :, i:i + 3, j:j + 3], kernel)
    features = np.maximum(conv + weights["conv.bias"][None, :, None, None], 0).mean(axis=(2, 3))
    return features @ weights["fc.weight"].T + weights["fc.bias"]


def loaded_from(folder: Path, weights: dict[str, np.ndarray]) -> Any:
    """The spec's model built in `folder` with `weights` (PyTorch's names and layout) loaded by `train.init`."""
    from dslc.api import analyse, load
    from dslc.compiler.build import build_model
    from dslc.runtime.pretrained import load_initial_weights

    save_file(weights, str(folder / "torch.safetensors"))
    loaded = load(write(folder, TORCH_INIT))
    analysis = analyse(loaded)
    model = build_model(loaded, analysis, seed=0)
    load_initial_weights(model, loaded.spec.train, loaded, analysis)  # type: ignore[arg-type]
    return model


def test_pytorch_layout_weights_give_the_pytorch_modules_outputs(tmp_path: Path) -> None:
    weights = torch_layout()
    model = loaded_from(tmp_path, weights)
    images = np.load(tmp_path / "x.npy")[:5]
    np.testing.assert_allclose(np.asarray(model(images)), pytorch_forward(weights, images), rtol=1e-5, atol=1e-5)


@pytest.mark.reference
def test_pytorch_layout_against_torch_itself(tmp_path: Path) -> None:
    """`pytest -m reference` with torch installed: the same check against torch.nn modules."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    conv, fc = torch.nn.Conv2d(2, 3, 3), torch.nn.Linear(3, 2)
    weights = {f"conv.{k}": v.detach().numpy() for k, v in conv.state_dict().items()}
    weights |= {f"fc.{k}": v.detach().numpy() for k, v in fc.state_dict().items()}
    model = loaded_from(tmp_path, weights)
    images = np.load(tmp_path / "x.npy")[:5]
    with torch.no_grad():
        expected = fc(torch.relu(conv(torch.from_numpy(images).permute(0, 3, 1, 2))).mean(dim=(2, 3))).numpy()
    np.testing.assert_allclose(np.asarray(model(images)), expected, rtol=1e-5, atol=1e-5)


def test_a_frozen_layer_keeps_exactly_the_loaded_values(tmp_path: Path) -> None:
    weights = torch_layout()
    save_file(weights, str(tmp_path / "torch.safetensors"))
    spec = write(tmp_path, TORCH_INIT, frozen=True)
    assert main(["train", str(spec), "--workdir", str(tmp_path / "run"), "--quiet"]) == 0
    assert main(["export", str(spec), "--checkpoint", str(tmp_path / "run"), "-o", str(tmp_path / "out.safetensors"),
                 "--format", "safetensors"]) == 0
    trained = load_file(str(tmp_path / "out.safetensors"))
    np.testing.assert_array_equal(trained["layers.features.kernel"], weights["conv.weight"].transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(trained["layers.features.bias"], weights["conv.bias"])
    assert not np.array_equal(trained["layers.head.kernel"], weights["fc.weight"].T)  # the head trained


def test_export_then_init_evaluates_to_the_same_metrics_bit_for_bit(tmp_path: Path) -> None:
    """Train, export safetensors, a new spec loads them: `dslc eval --initial` equals the checkpoint's eval."""
    spec = tmp_path / "digits_mlp.yaml"
    spec.write_text((EXAMPLES / "digits_mlp.yaml").read_text())
    assert main(["train", str(spec), "--epochs", "2", "--workdir", str(tmp_path / "run"), "--quiet"]) == 0
    assert main(["export", str(spec), "--checkpoint", str(tmp_path / "run"), "-o", str(tmp_path / "w.safetensors"),
                 "--format", "safetensors"]) == 0
    again = tmp_path / "again.yaml"
    again.write_text(spec.read_text() + "  init: [{safetensors: {path: w.safetensors}}]\n")
    evaluations = [subprocess.run([sys.executable, "-m", "dslc", "eval", str(path), *where, "--format", "json"],
                                  capture_output=True, text=True, timeout=600)
                   for path, where in ((spec, ("--checkpoint", str(tmp_path / "run"))), (again, ("--initial",)))]
    for result in evaluations:
        assert result.returncode == 0, result.stderr
    original, loaded = (json.loads(result.stdout) for result in evaluations)
    assert loaded["metrics"] == original["metrics"] and loaded["checkpoint"] is None
    assert original["metrics"]["accuracy"] > 0.5  # a trained model, not the initial one


def test_a_checkpoint_is_a_source_of_weights_too(tmp_path: Path) -> None:
    spec = write(tmp_path, TORCH_INIT)
    save_file(torch_layout(), str(tmp_path / "torch.safetensors"))
    assert main(["train", str(spec), "--workdir", str(tmp_path / "base"), "--quiet"]) == 0
    reuse = write(tmp_path, 'checkpoint("base", layers=[features])', frozen=True, name="reuse.dsl")
    assert main(["train", str(reuse), "--workdir", str(tmp_path / "reuse"), "--quiet"]) == 0
    for name in ("base", "reuse"):
        assert main(["export", str(reuse if name == "reuse" else spec), "--checkpoint", str(tmp_path / name), "-o",
                     str(tmp_path / f"{name}.safetensors"), "--format", "safetensors"]) == 0
    base, reused = (load_file(str(tmp_path / f"{name}.safetensors")) for name in ("base", "reuse"))
    np.testing.assert_array_equal(reused["layers.features.kernel"], base["layers.features.kernel"])


FLAX_NAMES = {"layers.features.kernel": (3, 3, 2, 3), "layers.features.bias": (3,), "layers.head.kernel": (3, 2),
              "layers.head.bias": (2,)}


@pytest.mark.parametrize(("tensors", "message"), [
    ({name.replace("head.bias", "head.b"): shape for name, shape in FLAX_NAMES.items()},
     "error[E712]: init: 'w.safetensors' lacks 1 tensor(s) of the selected layers: layers.head.bias; holds 1 that "
     "match none: layers.head.b"),
    ({**FLAX_NAMES, "layers.head.kernel": (2, 3)},
     "error[E713]: init: 'w.safetensors' has 1 tensor(s) of the wrong shape: layers.head.kernel is [2, 3], the "
     "model's layers.head.kernel is [3, 2]"),
])
def test_weights_that_do_not_fit_fail_training_located_before_any_step(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str],
                                                                       tensors: dict[str, tuple[int, ...]],
                                                                       message: str) -> None:
    """Names and shapes one by one: found once the model is built, before its first step (the header's counts
    fit, so `dslc check` passes them)."""
    save_file({name: np.zeros(shape, np.float32) for name, shape in tensors.items()}, str(tmp_path / "w.safetensors"))
    spec = write(tmp_path, 'safetensors("w.safetensors")')
    assert main(["check", str(spec)]) == 0
    assert main(["train", str(spec), "--workdir", str(tmp_path / "run"), "--quiet"]) == 2
    assert f"spec.dsl:13:23: {message}" in capsys.readouterr().err
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_check_reads_the_header_without_jax(tmp_path: Path) -> None:
    """An unknown layer name, a count of values that does not fit, a file that is not safetensors: exit 2 at
    `dslc check`, which imports no JAX."""
    save_file({"conv.weight": np.zeros((3, 2, 5, 5), np.float32)}, str(tmp_path / "torch.safetensors"))
    (tmp_path / "junk.safetensors").write_bytes(b"hello, not a tensor file")
    cases = {
        "names": ('safetensors("torch.safetensors", layers=[featrues])',
                  "error[E712]: init: layers names 'featrues', which is no layer or block use of the model"),
        "count": ('safetensors("torch.safetensors", layers=[features], rename=[["conv.", "layers.features."]], '
                  'layout=pytorch)',
                  "error[E713]: init: 'torch.safetensors' holds other numbers of values than the selected layers "
                  "have (parameters and batch statistics): features 150 (the model's 57)"),
        "junk": ('safetensors("junk.safetensors")',
                 "error[E711]: init: 'junk.safetensors' cannot be read as safetensors: its header claims"),
    }
    script = ("import sys; from dslc.runtime.cli import main; code = main(['check', sys.argv[1]]); "
              "assert 'jax' not in sys.modules; sys.exit(code)")
    for name, (init, message) in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        for file in ("torch.safetensors", "junk.safetensors"):
            (folder / file).write_bytes((tmp_path / file).read_bytes())
        result = subprocess.run([sys.executable, "-c", script, str(write(folder, init))], capture_output=True,
                                text=True, timeout=600)
        assert result.returncode == 2, (name, result.stdout, result.stderr)
        assert message in result.stdout, (name, result.stdout)
