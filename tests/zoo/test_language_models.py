"""The language models of the zoo: GPT-2 small and SmolLM2-135M at their published sizes, and tiny variants that train.

The full models are only analysed and built abstractly (`nnx.eval_shape`: nothing is allocated); their tiny
variants, with the same layer kinds, learn a batch of token sequences in a few steps (`dslc train` runs their
train sections, on synthetic data).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.build import build_model
from dslc.compiler.steps import Batch, init_state, make_task, train_step
from dslc.spec.load import load

ZOO = Path(__file__).resolve().parent.parent.parent / "examples" / "zoo"
# Trainable parameters as published (Hugging Face's model cards and `num_parameters()`): tied heads count once.
PUBLISHED = {"gpt2_small": 124_439_808, "smollm2_135m": 134_515_008}
TINY = [f"{name}_tiny" for name in PUBLISHED]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_full_model_has_the_published_parameter_count(name: str) -> None:
    loaded = load(ZOO / f"{name}.yaml")
    analysis = analyse(loaded)
    assert (analysis.totals.trainable, analysis.totals.frozen) == (PUBLISHED[name], 0)
    model = nnx.eval_shape(lambda: build_model(loaded, analysis))
    built = sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(nnx.state(model, nnx.Param)))
    assert built == PUBLISHED[name]


@pytest.mark.parametrize("name", [*sorted(PUBLISHED), *TINY])
def test_dsl_and_yaml_give_the_same_model(name: str) -> None:
    yaml, dsl = load(ZOO / f"{name}.yaml"), load(ZOO / f"{name}.dsl")
    assert dsl.spec == yaml.spec
    assert analyse(dsl).totals == analyse(yaml).totals


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_tiny_variant_has_the_full_models_layer_kinds(name: str) -> None:
    def kinds(path: Path) -> set[str]:
        return {node.kind for node in load(path).graph.nodes}

    assert kinds(ZOO / f"{name}_tiny.yaml") == kinds(ZOO / f"{name}.yaml")


@pytest.mark.parametrize("name", TINY)
def test_tiny_variant_learns_a_batch(name: str) -> None:
    """Six steps of the spec's optimizer on one batch of random token sequences, each target its next token."""
    loaded = load(ZOO / f"{name}.yaml")
    assert loaded.spec.train is not None
    task = make_task(loaded.spec.train)
    graphdef, state = init_state(build_model(loaded, analyse(loaded)), task)
    step = jax.jit(functools.partial(train_step, graphdef, task=task))
    ids = np.random.default_rng(0).integers(0, 64, (8, 17), dtype=np.int32)
    batch = Batch((jnp.asarray(ids[:, :-1]),), jnp.asarray(ids[:, 1:]))
    losses = []
    for _ in range(6):
        state, metrics = step(state, batch)
        losses.append(float(metrics["loss"]))
    assert all(math.isfinite(loss) for loss in losses)
    assert losses[-1] < losses[0] - 0.5
