"""The GPU path (runs only where JAX sees a GPU; CI has none, so these skip there)."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax import export

import dslc.api as api
from dslc.compiler.devices import present_devices
from dslc.compiler.export import export_programs
from dslc.compiler.steps import Batch

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
pytestmark = pytest.mark.skipif(not present_devices().get("gpu"), reason="no GPU here")


def test_bf16_training_on_the_gpu_keeps_float32_parameters_and_learns() -> None:
    compiled = api.compile(EXAMPLES / "transformer_encoder.yaml")  # precision: bfloat16
    key = jax.random.PRNGKey(0)
    batch = Batch((jax.random.normal(key, (64, 8, 8)),), jax.random.randint(key, (64,), 0, 10))
    state, first = compiled.steps.train(compiled.state, batch)
    for _ in range(50):
        state, metrics = compiled.steps.train(state, batch)
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(state.params))
    assert all(leaf.devices() == {jax.devices("gpu")[0]} for leaf in jax.tree.leaves(state.params))
    assert bool(metrics["finite"]) and float(metrics["loss"]) < float(first["loss"])


def test_the_cuda_program_runs_on_the_gpu_like_the_model() -> None:
    loaded = api.load(EXAMPLES / "digits_cnn.yaml")
    analysis = api.analyse(loaded)
    from dslc.compiler.build import build_model

    model = build_model(loaded, analysis)
    [forward] = [p for p in export_programs(loaded, analysis, model, ("cuda",)) if p.name == "forward"]
    program = export.deserialize(bytearray(forward.serialized))
    x = jax.random.normal(jax.random.PRNGKey(1), (16, 8, 8, 1))
    state = nnx.to_pure_dict(nnx.state(model))
    np.testing.assert_allclose(program.call(state, x), model(x, train=False), rtol=2e-3, atol=2e-4)
