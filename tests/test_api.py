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


def test_compile_reports_spec_errors_and_needs_a_train_section(tmp_path: Path) -> None:
    with pytest.raises(DslcErrors):
        api.load(tmp_path / "missing.yaml")
    spec = tmp_path / "m.yaml"
    spec.write_text("dslc: 1\nmodel: {name: m, inputs: {x: [4]}, layers: [{dense: {units: 2}}]}\n")
    with pytest.raises(ValueError, match="no train section"):
        api.compile(spec)
