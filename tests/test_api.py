"""The Python API, used the way a notebook would."""

from __future__ import annotations

from pathlib import Path

import jax
import pytest

import dslc.api as api
from dslc.compiler.steps import Batch
from dslc.spec.errors import DslcErrors

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_load_analyse_compile_train_and_infer() -> None:
    spec = api.load(EXAMPLES / "digits_mlp.dsl")
    assert api.analyse(spec).totals.params == 17_226
    assert "depth: deep" in api.summary(spec)
    run = api.compile(spec)
    key = jax.random.PRNGKey(0)
    batch = Batch((jax.random.normal(key, (16, 8, 8, 1)),), jax.random.randint(key, (16,), 0, 10))
    state, first = run.steps.train(run.state, batch)
    for _ in range(20):
        state, metrics = run.steps.train(state, batch)
    assert float(metrics["loss"]) < float(first["loss"])
    run.state = state
    assert run.model()(batch.inputs[0]).shape == (16, 10)


def test_weights_move_between_models(tmp_path: Path) -> None:
    spec = api.load(EXAMPLES / "digits_mlp.dsl")
    trained, fresh = api.compile(spec, seed=0).model(), api.compile(spec, seed=1).model()
    api.save_weights(trained, tmp_path / "mlp.safetensors")
    api.load_weights(fresh, tmp_path / "mlp.safetensors")
    pixels = jax.random.normal(jax.random.PRNGKey(0), (4, 8, 8, 1))
    assert (fresh(pixels) == trained(pixels)).all()


def test_compile_reports_spec_errors_and_needs_a_train_section(tmp_path: Path) -> None:
    with pytest.raises(DslcErrors):
        api.load(tmp_path / "missing.yaml")
    spec = tmp_path / "m.yaml"
    spec.write_text("dslc: 1\nmodel: {name: m, inputs: {x: [4]}, layers: [{dense: {units: 2}}]}\n")
    with pytest.raises(ValueError, match="no train section"):
        api.compile(spec)


def test_a_batch_of_the_wrong_shape_is_a_located_e704() -> None:
    run = api.compile(EXAMPLES / "digits_mlp.yaml")
    flat = Batch((jax.numpy.zeros((4, 64)),), jax.numpy.zeros((4,), jax.numpy.int32))
    with pytest.raises(DslcErrors) as refused:
        run.steps.train(run.state, flat)
    error = refused.value.errors[0]
    assert error.code == "E704" and "input 'image'" in error.message and "[4, 64]" in error.message
    assert (error.span.line, error.span.col) == (5, 12)  # `image:` in `inputs: {image: [8, 8, 1]}`


def test_train_eval_and_predict_from_text(tmp_path: Path) -> None:
    from sklearn.datasets import load_digits

    text = (EXAMPLES / "digits_mlp.yaml").read_text().replace("batch: 64", "batch: 256")
    spec = api.load_text(text, "yaml")
    trained = api.train(spec, epochs=1, workdir=tmp_path / "run", compile_cache="off")
    assert trained.summary["steps"] == 5 and set(trained.rows) == {"train", "validation", "test"}
    evaluation = api.eval(spec, tmp_path / "run")
    assert evaluation.step == 5 and evaluation.metrics == pytest.approx(trained.summary["test"])
    outputs = api.predict(spec, load_digits().data[:3], tmp_path / "run")
    assert outputs.shape == (3, 10) and outputs.dtype == "float32"
