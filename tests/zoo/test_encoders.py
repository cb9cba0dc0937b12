"""BERT-base and ViT-B/16 in the zoo: the published trainable counts, the built modules' counts (shapes only,
nothing allocated), both syntaxes alike, and the tiny variants trained a few steps."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.build import build_model
from dslc.compiler.steps import Batch, init_state, make_steps
from dslc.runtime.data import load_dataset
from dslc.spec.load import load

ZOO = Path(__file__).resolve().parent.parent.parent / "examples" / "zoo"
PUBLISHED = {
    "bert_base": 109_482_240,  # Hugging Face BertModel, default config (with the pooler)
    "vit_b16": 86_567_656,  # torchvision vit_b_16
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_the_full_model_has_the_published_count(name: str) -> None:
    yaml, dsl = load(ZOO / f"{name}.yaml"), load(ZOO / f"{name}.dsl")
    analysis = analyse(yaml)
    assert (analysis.totals.trainable, analysis.totals.frozen) == (PUBLISHED[name], 0)
    assert dsl.spec == yaml.spec  # the same model from either syntax
    assert analyse(dsl).totals == analysis.totals
    model = nnx.eval_shape(lambda: build_model(yaml, analysis))
    leaves = jax.tree.leaves(nnx.state(model, nnx.Param))
    assert sum(int(np.prod(leaf.shape)) for leaf in leaves) == PUBLISHED[name]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_the_tiny_variant_trains(name: str) -> None:
    """A few updates on one batch of the spec's own data: the loss is finite and goes down."""
    tiny, dsl = load(ZOO / f"{name}_tiny.yaml"), load(ZOO / f"{name}_tiny.dsl")
    assert dsl.spec == tiny.spec
    analysis = analyse(tiny)
    assert analysis.totals.trainable < 300_000
    assert {layer.kind for layer in analysis.layers} >= {layer.kind for layer in analyse(load(ZOO / f"{name}.yaml"))
                                                         .layers}
    train = tiny.spec.train
    assert train is not None
    split = load_dataset(tiny, analysis, seed=0).train
    batch = Batch(tuple(jnp.asarray(x[: train.batch]) for x in split.inputs), jnp.asarray(split.target[: train.batch]))
    graphdef, state = init_state(build_model(tiny, analysis), train)
    step = make_steps(graphdef, train).train
    losses = []
    for _ in range(6):
        state, metrics = step(state, batch)
        losses.append(float(metrics["loss"]))
    assert np.isfinite(losses).all() and losses[-1] < losses[0], losses
