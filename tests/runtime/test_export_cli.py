"""`dslc export` end to end: a digits MLP trained once per module, exported in each format and run outside dslc's
training code, against `dslc predict --raw` on the same raw inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.cli_helpers import dslc

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
SPEC = EXAMPLES / "digits_mlp.yaml"
ROWS = 12


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained run (run/), raw inputs (x.npy: 64 pixel values 0..16 per row) and their raw outputs (raw.npy)."""
    from sklearn.datasets import load_digits

    folder = tmp_path_factory.mktemp("export")
    result = dslc("train", str(SPEC), "--epochs", "1", "--workdir", str(folder / "run"), "--quiet")
    assert result.returncode == 0, result.stderr
    np.save(folder / "x.npy", load_digits().data[:ROWS])
    result = dslc("predict", str(SPEC), "--checkpoint", str(folder / "run"), "--input", str(folder / "x.npy"),
                  "--output", str(folder / "raw.npy"), "--raw")
    assert result.returncode == 0, result.stderr
    return folder


def export(run: Path, fmt: str, out: str) -> Path:
    result = dslc("export", str(SPEC), "--checkpoint", str(run / "run"), "-o", str(run / out), "--format", fmt)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"wrote {run / out}: ")
    return run / out


def prepared(run: Path) -> np.ndarray:
    """The raw pixels as training prepared them: / 16 (the digits' minmax), in the input's shape."""
    return (np.load(run / "x.npy") / 16.0).astype(np.float32).reshape(ROWS, 8, 8, 1)


def test_safetensors_hold_every_weight_by_layer_name_and_the_runs_statistics(run: Path) -> None:
    import json

    from safetensors import safe_open

    from dslc.api import analyse, load
    from dslc.compiler.build import build_model
    from dslc.compiler.weights import load_weights, parameter_names

    path = export(run, "safetensors", "weights.safetensors")
    with safe_open(str(path), "np") as file:
        metadata, names = file.metadata(), set(file.keys())
    assert metadata["dslc.model"] == "digits_mlp" and metadata["dslc.loss"] == "softmax_cross_entropy"
    assert json.loads(metadata["dslc.statistics"]) == {}  # digits: a fixed minmax scale, no statistics
    loaded = load(SPEC)
    model = build_model(loaded, analyse(loaded), seed=7)  # other initial values: the file replaces them all
    assert names == set(parameter_names(model))
    load_weights(model, path)
    np.testing.assert_allclose(np.asarray(model(prepared(run))), np.load(run / "raw.npy"), rtol=1e-5, atol=1e-5)


def test_stablehlo_runs_the_forward_pass_with_the_weights_bound(run: Path) -> None:
    from jax import export as jax_export

    folder = export(run, "stablehlo", "hlo")
    assert sorted(p.name for p in folder.iterdir()) == [f"forward.{t}.stablehlo" for t in ("cpu", "cuda", "tpu")]
    program = jax_export.deserialize(bytearray((folder / "forward.cpu.stablehlo").read_bytes()))
    assert len(program.in_avals) == 1  # the inputs only: the weights are inside
    np.testing.assert_allclose(np.asarray(program.call(prepared(run))), np.load(run / "raw.npy"), rtol=1e-5,
                               atol=1e-5)


def test_a_run_that_does_not_exist_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = dslc("export", str(SPEC), "--checkpoint", str(tmp_path / "none"), "-o", str(tmp_path / "w.safetensors"),
                  "--format", "safetensors")
    assert result.returncode == 2 and "error[E804]" in result.stderr and len(result.stderr.splitlines()) <= 2
    assert not (tmp_path / "w.safetensors").exists()
