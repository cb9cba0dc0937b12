"""The CNN zoo: published parameter counts, models built without allocating, both syntaxes, tiny variants that train.

Full-size models are checked by analysis and `nnx.eval_shape` only (nothing allocated); their `_tiny`
variants (same layer kinds, digits-sized) run a few optimiser steps on one fixed batch in one compiled scan.
"""

from __future__ import annotations

import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from dslc.compiler.build import build_model
from dslc.compiler.check import check_spec
from dslc.compiler.random_draws import flat_drawing
from dslc.compiler.steps import Batch, init_state, make_steps
from dslc.runtime.data import load_dataset
from dslc.spec.layers import _flax

ZOO = Path(__file__).resolve().parent.parent.parent / "examples" / "zoo"
STEPS, BATCH = 8, 8

# Trainable parameters as published (torchvision, Keras, the U-Net paper's figure 1) and each model's output.
PUBLISHED = {
    "mobilenet_v2": (3_504_872, (1000,)),
    "efficientnet_b0": (5_288_548, (1000,)),
    "convnext_tiny": (28_589_128, (1000,)),
    "unet": (31_030_658, (388, 388, 2)),
}


def checked(name: str, syntax: str = "yaml") -> tuple:
    return check_spec(ZOO / f"{name}.{syntax}").valid()


@pytest.mark.parametrize("name", [*sorted(PUBLISHED), *(f"{name}_tiny" for name in sorted(PUBLISHED))])
def test_yaml_and_dsl_give_the_same_model(name: str) -> None:
    loaded, analysis = checked(name)
    dsl_loaded, dsl_analysis = checked(name, "dsl")
    assert dsl_loaded.spec == loaded.spec and dsl_analysis.totals == analysis.totals


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_full_model_has_the_published_size(name: str) -> None:
    trainable, output = PUBLISHED[name]
    loaded, analysis = checked(name)
    assert (analysis.totals.trainable, analysis.totals.frozen) == (trainable, 0)
    assert analysis.layer(analysis.outputs[0]).output.shape == output
    abstract = nnx.eval_shape(lambda: build_model(loaded, analysis))
    params = nnx.to_flat_state(nnx.state(abstract, nnx.Param))
    assert sum(math.prod(leaf.shape) for _, leaf in params) == trainable


def test_weighted_depth_is_the_papers_layer_count() -> None:
    # U-Net: "In total the network has 23 convolutional layers"; MobileNetV2: 52 convolutions and the classifier;
    # ConvNeXt-T: stem, 18 blocks of 3, 3 downsampling convolutions, head
    expected = {"unet": 23, "mobilenet_v2": 53, "convnext_tiny": 1 + 18 * 3 + 3 + 1}
    for name, weighted in expected.items():
        policies = checked(name)[1].depth.policies
        assert policies["seeds-strict"].value == weighted
        assert {policy.verdict for policy in policies.values()} == {"very-deep"}


def test_batch_statistics_are_not_trainable() -> None:
    # MobileNetV2's 52 batch norms hold 17,056 running means and as many variances beside its parameters
    _, analysis = checked("mobilenet_v2")
    norms = [layer for layer in analysis.layers if layer.kind == "batchnorm"]
    assert len(norms) == 52 and analysis.totals.state == 2 * 17_056 == sum(layer.state for layer in norms)


def fixed_batches(loaded: object, analysis: object) -> Batch:
    """The first `BATCH` training examples, repeated for `STEPS` steps (the loss must fall on them)."""
    train = load_dataset(loaded, analysis, seed=0).split("train")
    batch = Batch(tuple(jnp.asarray(x[:BATCH]) for x in train.inputs), jnp.asarray(train.target[:BATCH]))
    return jax.tree.map(lambda a: jnp.stack([a] * STEPS), batch)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_tiny_variant_trains(name: str) -> None:
    loaded, analysis = checked(f"{name}_tiny")
    full_kinds = {layer.kind for layer in checked(name)[1].layers}
    assert {layer.kind for layer in analysis.layers} == full_kinds
    assert analysis.totals.params < 100_000
    graphdef, state = init_state(build_model(loaded, analysis), loaded.spec.train)
    _, metrics = make_steps(graphdef, loaded.spec.train).multi(state, fixed_batches(loaded, analysis))
    losses = np.asarray(metrics["loss"])
    assert np.all(np.isfinite(losses)) and bool(np.all(metrics["finite"]))
    assert losses[-1] < losses[0]


# -- the layers these models need, as built -----------------------------------------------------------
def test_stochastic_depth_drops_whole_examples_when_training_only() -> None:
    layer = _flax.StochasticDepth(0.5, rank=3, rngs=nnx.Rngs(dropout=0))
    x = jnp.ones((64, 4, 4, 3))
    assert bool(jnp.all(layer(x) == x))
    dropped = np.asarray(layer(x, train=True)).reshape(64, -1)
    kept = dropped[:, 0] > 0
    assert set(np.unique(dropped)) == {0.0, 2.0} and np.all(dropped == dropped[:, :1])  # one choice per example
    assert 16 < kept.sum() < 48


def test_cropping_padding_and_nearest_upsampling_move_the_right_pixels() -> None:
    x = jnp.arange(2 * 5 * 6).reshape(2, 5, 6, 1)
    cropped = _flax.Cropping(((1, 2), (0, 3)))(x)
    assert np.array_equal(cropped, x[:, 1:3, 0:3])
    padded = _flax.ZeroPadding(((1, 0), (2, 1)))(x)
    assert padded.shape == (2, 6, 9, 1) and np.array_equal(padded[:, 1:, 2:8], x) and int(padded[:, 0].sum()) == 0
    up = _flax.Upsample((2, 3))(x)
    assert up.dtype == x.dtype and np.array_equal(up[:, ::2, ::3], x) and np.array_equal(up[:, 1::2, 2::3], x)


def test_adaptive_average_pooling_averages_overlapping_windows() -> None:
    x = jnp.arange(7.0).reshape(1, 7, 1)
    pooled = _flax.AdaptiveAvgPool((7,), (3,))(x)  # windows [0, 3), [2, 5), [4, 7)
    assert np.allclose(pooled[0, :, 0], [1.0, 3.0, 5.0])


def test_layer_scale_starts_at_its_init() -> None:
    layer = _flax.LayerScale(3, init=0.5, rngs=nnx.Rngs(flat_drawing(0)))
    assert np.allclose(layer(jnp.ones((2, 4, 3))), 0.5)
