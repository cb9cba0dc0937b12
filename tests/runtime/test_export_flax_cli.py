"""`dslc export --format flax` end to end: the package, imported in a process where `import dslc` fails, gives what
`dslc predict` gives on the same raw inputs: a regression with a repeated residual block and normalised inputs
and targets, and the digits MLP classifier."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.cli_helpers import dslc

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
ROWS = 12

REGRESSION = """\
dslc: 1
blocks:
  residual:
    params: [width]
    layers:
      - dense: {units: $width, activation: relu}
        name: up
      - dense: {units: $width}
        name: down
      - add: {}
        from: [input, down]
model:
  name: regression
  inputs: {features: [4, 2]}
  layers:
    - flatten
    - dense: {units: 6}
      name: stem
    - residual: {width: 6}
      repeat: 2
      name: stage
    - dense: {units: 1}
      name: out
train:
  loss: mse
  optimizer: {adam: {lr: 0.01}}
  batch: 16
  epochs: 2
  data: {npy: {normalize: standard, normalize_target: standard, x: x.npy, "y": y.npy}}
"""

# Runs in a fresh process: `dslc` cannot be imported, the package is on PYTHONPATH; prints the predictions.
OUTSIDE = """
import json, sys
import numpy as np

class NoDslc:
    def find_spec(self, name, path=None, target=None):
        if name == "dslc" or name.startswith("dslc."):
            raise ImportError("dslc is not installed here")

sys.meta_path.insert(0, NoDslc())
import mymodel

model = mymodel.load()
result = mymodel.predict(np.load(sys.argv[1]), model=model)
np.savez(sys.argv[2], **result)
print(json.dumps({name: type(value).__name__ for name, value in vars(model).items() if not name.startswith("_")}))
"""


def train_and_predict(folder: Path, spec: Path, raw: np.ndarray) -> None:
    """Trains `spec` into folder/run, writes folder/raw.npy and `dslc predict`'s outputs folder/predicted.npy."""
    result = dslc("train", str(spec), "--epochs", "1", "--workdir", str(folder / "run"), "--quiet")
    assert result.returncode == 0, result.stderr
    np.save(folder / "raw.npy", raw)
    result = dslc("predict", str(spec), "--checkpoint", str(folder / "run"), "--input", str(folder / "raw.npy"),
                  "--output", str(folder / "predicted.npy"))
    assert result.returncode == 0, result.stderr


def export(folder: Path, spec: Path) -> Path:
    out = folder / "pkgdir" / "mymodel"
    result = dslc("export", str(spec), "--checkpoint", str(folder / "run"), "-o", str(out), "--format", "flax")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"wrote {out}: a Flax package (")
    return out


def outside_dslc(folder: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The package's predictions on raw.npy, from a process that cannot import dslc, and its Model's attributes."""
    environment = {**os.environ, "PYTHONPATH": str(folder / "pkgdir")}
    result = subprocess.run([sys.executable, "-c", OUTSIDE, str(folder / "raw.npy"), str(folder / "package.npz")],
                            capture_output=True, text=True, timeout=600, cwd=folder, env=environment)
    assert result.returncode == 0, result.stderr
    with np.load(folder / "package.npz") as arrays:
        return dict(arrays), json.loads(result.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def regression(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("flax_regression")
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, (160, 8))
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", x.sum(axis=1, keepdims=True) * 5 + 40)
    (folder / "spec.yaml").write_text(REGRESSION, encoding="utf-8")
    train_and_predict(folder, folder / "spec.yaml", x[:ROWS])
    export(folder, folder / "spec.yaml")
    return folder


def test_a_regression_with_blocks_and_normalisation_predicts_as_dslc_outside_dslc(regression: Path) -> None:
    predicted, attributes = outside_dslc(regression)
    np.testing.assert_allclose(predicted["values"], np.load(regression / "predicted.npy"), rtol=1e-5)
    assert attributes == {"flatten_1": "Flatten", "stem": "Dense", "stage": "List", "out": "Dense"}
    package = regression / "pkgdir" / "mymodel"
    assert sorted(path.name for path in package.iterdir()) == [
        "README.md", "__init__.py", "layers.py", "model.py", "normalization.safetensors", "residual.py",
        "weights.safetensors"]
    assert "self.stage = nnx.List([Residual(width=6, rngs=rngs) for _ in range(2)])" in (
        package / "model.py").read_text(encoding="utf-8")
    assert "class Residual(nnx.Module):" in (package / "residual.py").read_text(encoding="utf-8")


def test_the_generated_code_passes_ruff(regression: Path) -> None:
    ruff = subprocess.run([sys.executable, "-m", "ruff", "--version"], capture_output=True, text=True)
    if ruff.returncode != 0:
        pytest.skip("ruff is not installed")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "."],
                            capture_output=True, text=True, cwd=regression / "pkgdir" / "mymodel")
    assert result.returncode == 0, result.stdout


def test_a_classifier_gives_the_probabilities_and_classes_of_dslc_predict(tmp_path: Path) -> None:
    from sklearn.datasets import load_digits

    train_and_predict(tmp_path, EXAMPLES / "digits_mlp.yaml", load_digits().data[:ROWS])
    export(tmp_path, EXAMPLES / "digits_mlp.yaml")
    predicted, _ = outside_dslc(tmp_path)
    probabilities = np.load(tmp_path / "predicted.npy")
    np.testing.assert_allclose(predicted["probabilities"], probabilities, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(predicted["prediction"], probabilities.argmax(axis=-1))


def test_a_folder_name_that_is_no_python_name_is_refused_and_nothing_written(regression: Path) -> None:
    out = regression / "refused" / "my-model"
    result = dslc("export", str(regression / "spec.yaml"), "--checkpoint", str(regression / "run"), "-o", str(out),
                  "--format", "flax")
    assert result.returncode == 2 and "error[E806]" in result.stderr and "Python identifier" in result.stderr
    assert not (regression / "refused").exists()
