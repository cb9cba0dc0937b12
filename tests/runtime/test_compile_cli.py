"""`dslc compile` end to end: files, reproducible hashes, programs that run, an ejected model that needs no dslc.

The compiles whose hashes are compared run as `dslc` processes, as a user's would (a program compiled inside
another Python program may carry that program's source locations); the commands that stop with an error run in the
test's process (tests/cli_helpers.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest
from flax import nnx
from jax import export

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.build import build_model
from dslc.compiler.eject import eject_source
from dslc.compiler.steps import compute_dtype
from dslc.spec.load import load
from tests.cli_helpers import dslc

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"


def dslc_process(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dslc", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("compiled")
    result = dslc_process("compile", str(EXAMPLES / "digits_cnn.yaml"), "-o", str(out), "--target", "cpu,cuda,tpu")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split("]")[0] for line in result.stdout.splitlines()] == [f"[{i}/5" for i in range(1, 6)]
    return out


def test_compile_writes_every_artefact(compiled: Path) -> None:
    names = {path.name for path in compiled.iterdir()}
    programs = {f"{name}.{target}.stablehlo" for name in ("forward", "train_step") for target in ("cpu", "cuda", "tpu")}
    assert names == {"ir.json", "analysis.json", "manifest.json", "model.py"} | programs
    manifest = json.loads((compiled / "manifest.json").read_text())
    assert {entry["file"] for entry in manifest["programs"]} == programs
    assert json.loads((compiled / "analysis.json").read_text())["totals"]["params"] == 28_714
    assert json.loads((compiled / "ir.json").read_text())["model"]["name"] == "digits_cnn"


def test_hashes_are_reproducible(compiled: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert dslc_process("compile", str(EXAMPLES / "digits_cnn.yaml"), "-o", str(again), "--target", "cpu,cuda,tpu"
                        ).returncode == 0
    first = json.loads((compiled / "manifest.json").read_text())
    second = json.loads((again / "manifest.json").read_text())
    assert first["programs"] == second["programs"] and first["ir_sha256"] == second["ir_sha256"]


def test_the_exported_forward_program_computes_what_the_model_computes(compiled: Path) -> None:
    loaded = load(EXAMPLES / "digits_cnn.yaml")
    program = export.deserialize(bytearray((compiled / "forward.cpu.stablehlo").read_bytes()))
    with jax.default_device(jax.devices("cpu")[0]):  # the cpu program, also on a machine with a GPU
        model = build_model(loaded, analyse(loaded), seed=0)
        x = jax.random.normal(jax.random.PRNGKey(1), (5, 8, 8, 1))
        state = nnx.to_pure_dict(nnx.state(model))
        np.testing.assert_allclose(program.call(state, x), model(x, train=False), rtol=1e-5, atol=1e-6)
    assert program.platforms == ("cpu",)
    cuda = export.deserialize(bytearray((compiled / "train_step.cuda.stablehlo").read_bytes()))
    assert cuda.platforms == ("cuda",)


EJECT_CHECK = """
import sys
sys.modules["dslc"] = None  # the ejected file must not need dslc: importing it now fails
import importlib.util, numpy as np
from flax import nnx
spec = importlib.util.spec_from_file_location("ejected", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
model = nnx.jit(lambda: module.Model(rngs=nnx.Rngs(0)))()  # one compilation, not one per operation
data = np.load(sys.argv[2])
state = nnx.state(model, (nnx.Param, nnx.BatchStat))
flat = {"/".join(map(str, path)): value for path, value in nnx.to_flat_state(state)}
for key, variable in flat.items():
    variable[...] = data["param:" + key]
nnx.update(model, state)
inputs = [data[f"input:{i}"] for i in range(len(module.INPUTS))]
np.save(sys.argv[3], np.asarray(nnx.jit(lambda model, *x: model(*x, train=False))(model, *inputs), np.float32))
"""


# The residual CNN (batch norm, a skip) and the attention block; the tied head is ejected in
# tests/spec/test_embeddings.py.
@pytest.mark.parametrize("stem", ["resnet_digits", "transformer_encoder"])
def test_the_ejected_model_matches_the_in_memory_model(stem: str, tmp_path: Path) -> None:
    # model.py as `dslc compile` writes it (test_compile_writes_every_artefact runs the command itself)
    loaded = load(EXAMPLES / f"{stem}.yaml")
    analysis = analyse(loaded)
    (tmp_path / "model.py").write_text(eject_source(loaded, analysis, compute_dtype(loaded.spec.train)))
    # other parameters than the ejected file's own init; the spec's compute dtype, as the ejected file uses
    model = nnx.jit(lambda: build_model(loaded, analysis, seed=3, dtype=compute_dtype(loaded.spec.train)))()
    state = nnx.state(model, (nnx.Param, nnx.BatchStat))
    arrays = {"param:" + "/".join(map(str, path)): np.asarray(v[...]) for path, v in nnx.to_flat_state(state)}
    inputs = [np.asarray(jax.random.normal(jax.random.PRNGKey(i), (3, *tensor.shape)), np.float32)
              for i, (_, tensor) in enumerate(analysis.inputs)]
    arrays.update({f"input:{i}": x for i, x in enumerate(inputs)})
    np.savez(tmp_path / "data.npz", **arrays)
    result = subprocess.run([sys.executable, "-c", EJECT_CHECK, str(tmp_path / "model.py"),
                             str(tmp_path / "data.npz"), str(tmp_path / "out.npy")],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    expected = np.asarray(nnx.jit(lambda model, *x: model(*x, train=False))(model, *inputs), np.float32)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, rtol=1e-5, atol=1e-6)


def test_an_invalid_spec_compiles_nothing(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("dslc: 1\nmodel: {name: m, inputs: {x: [4]}, layers: [{dnse: {units: 2}}]}\n")
    result = dslc("compile", str(spec), "-o", str(tmp_path / "out"))
    assert result.returncode == 2 and "error[E104]" in result.stderr
    assert not (tmp_path / "out").exists()


def test_an_unknown_target_is_a_usage_error(tmp_path: Path) -> None:
    result = dslc("compile", str(EXAMPLES / "digits_mlp.yaml"), "-o", str(tmp_path), "--target", "cpu,metal")
    assert result.returncode == 2 and "unknown target(s) metal" in result.stderr


def test_an_absent_device_is_a_clear_error(tmp_path: Path) -> None:
    from dslc.compiler.devices import present_devices

    if present_devices().get("gpu"):
        pytest.skip("this machine has a GPU")
    result = dslc("compile", str(EXAMPLES / "digits_mlp.yaml"), "-o", str(tmp_path / "out"), "--device", "gpu")
    assert result.returncode == 2
    assert "error[E601]: no gpu device is present; present here: cpu" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()  # nothing written for a run that cannot happen
