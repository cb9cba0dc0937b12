"""Flat draws (dslc.compiler.random_draws) give threefry's values bit for bit, and a built model's streams stay
threefry keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pytest
from flax import nnx

from dslc.compiler import build, steps
from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.random_draws import flat_drawing, is_key
from dslc.runtime.cli import main
from dslc.spec.load import load_text

ROOT = Path(__file__).resolve().parent.parent.parent

DRAWS = {
    "bits": lambda key, shape: jax.random.bits(key, shape),
    "uniform": lambda key, shape: jax.random.uniform(key, shape),
    "normal": lambda key, shape: jax.random.normal(key, shape),
    "truncated_normal": lambda key, shape: jax.random.truncated_normal(key, -2.0, 2.0, shape),
    "bernoulli": lambda key, shape: jax.random.bernoulli(key, 0.3, shape),
    "orthogonal": lambda key, shape: jax.nn.initializers.orthogonal()(key, (*shape, 4)),
}


@pytest.mark.parametrize("shape", [(512, 10), (3, 3, 1, 32), (7,), (5, 3, 6)])
def test_flat_draws_equal_threefry_draws(shape: tuple[int, ...]) -> None:
    every = jax.jit(lambda key: {name: draw(jax.random.fold_in(jax.random.split(key)[1], 5), shape)
                                 for name, draw in DRAWS.items()})
    flat, threefry = every(flat_drawing(7)), every(jax.random.key(7))
    for name in DRAWS:
        np.testing.assert_array_equal(flat[name], threefry[name], err_msg=name)


SPEC = """dslc: 1
model:
  name: drawn
  inputs: {x: [6, 6, 1]}
  layers:
    - conv2d: {filters: 5, kernel: 3}
    - flatten
    - dropout: {rate: 0.5}
    - dense: {units: 10, kernel_init: truncated_normal, kernel_std: 0.1, bias_init: normal, bias_std: 0.5}
    - dense: {units: 3}
train:
  loss: softmax_cross_entropy
  optimizer: {adam: {lr: 0.01}}
  batch: 4
  epochs: 1
  data: {synthetic: {task: random}}
"""


def _values(state: Any) -> list[np.ndarray]:
    return [np.asarray(jax.random.key_data(leaf) if is_key(leaf) else leaf) for leaf in jax.tree.leaves(state)]


def _threefry(keys: list[Any]) -> bool:
    return all(jax.random.key_impl(key) == jax.random.key_impl(jax.random.key(0)) for key in keys)


def test_a_model_built_with_flat_draws_is_the_threefry_model(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = load_text(SPEC, "yaml")
    analysis = analyse(loaded)
    made = jax.jit(lambda key: nnx.state(build.build_model(loaded, analysis, seed=key)))(jax.random.key(3))
    monkeypatch.setattr(build, "flat_drawing", lambda key: key)
    plain = jax.jit(lambda key: nnx.state(build.build_model(loaded, analysis, seed=key)))(jax.random.key(3))
    streams = jax.tree.leaves(nnx.filter_state(made, nnx.RngKey))
    assert streams and _threefry(streams)
    for ours, theirs in zip(_values(made), _values(plain), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_a_train_step_draws_threefry_dropout_masks(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = load_text(SPEC, "yaml")
    analysis = analyse(loaded)
    assert loaded.spec.train is not None
    batch = steps.Batch((jax.random.normal(jax.random.key(2), (4, 6, 6, 1)),), np.array([0, 1, 2, 1], np.int32))

    def stepped() -> tuple[Any, Any]:
        graphdef, state = steps.init_state(build.build_model(loaded, analysis, seed=1), loaded.spec.train)
        return steps.make_steps(graphdef, loaded.spec.train).train(state, batch)

    flat = stepped()
    monkeypatch.setattr(steps, "drawing_flat", lambda tree: tree)
    plain = stepped()
    assert _threefry([key for key in jax.tree.leaves(flat[0].rest) if is_key(key)])
    for ours, theirs in zip(_values(flat), _values(plain), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_a_seed_gives_the_same_run_whatever_jaxs_default_generator(tmp_path: Path) -> None:
    """`JAX_DEFAULT_PRNG_IMPL=rbg` in a user's environment once made `dslc train` fail (an internal error: a key of
    the wrong generator); a run's keys are threefry's, so the seed gives the same parameters under any default."""
    spec = ROOT / "examples" / "digits_mlp.yaml"
    hashes = {}
    for impl in ("threefry2x32", "rbg"):
        default = jax.config.jax_default_prng_impl
        jax.config.update("jax_default_prng_impl", impl)
        try:
            assert main(["train", str(spec), "--epochs", "1", "--workdir", str(tmp_path / impl), "--quiet",
                         "--compile-cache", "off"]) == 0
        finally:
            jax.config.update("jax_default_prng_impl", default)
        hashes[impl] = json.loads((tmp_path / impl / "run.json").read_text())["parameters_sha256"]
    assert hashes["rbg"] == hashes["threefry2x32"]
