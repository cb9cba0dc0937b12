"""The mixture-of-experts layer: its function and load-balancing loss against numpy, the loss the train
step minimises, and examples/zoo/moe_tiny (both syntaxes) counted, built and trained a few steps."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from dslc.compiler.analysis.model import Analysis
from dslc.compiler.build import build_model
from dslc.compiler.check import check_spec
from dslc.compiler.random_draws import flat_drawing
from dslc.compiler.steps import Batch, init_state, make_steps
from dslc.runtime.data import load_dataset
from dslc.spec.layers._flax import AuxiliaryLoss, MixtureOfExperts
from dslc.spec.load import LoadedSpec

ZOO = Path(__file__).resolve().parent.parent.parent / "examples" / "zoo"
# embed 8*32 + 32; experts 4 gated experts of 3 * 32 * 64, router 32 * 4; head 32*10 + 10.
TINY_PARAMS = (8 * 32 + 32) + (4 * 3 * 32 * 64 + 32 * 4) + (32 * 10 + 10)


def checked(name: str) -> tuple[LoadedSpec, Analysis]:
    return check_spec(ZOO / name).valid()


def numpy_moe(layer: MixtureOfExperts, x: np.ndarray) -> tuple[np.ndarray, float]:
    """The layer's output and balance loss, one token at a time, from its weights (gated silu experts)."""
    router = np.asarray(layer.router.kernel[...], np.float64)
    gate, up, down = (np.asarray(w[...], np.float64) for w in (layer.gate, layer.up, layer.down))
    tokens = x.reshape(-1, x.shape[-1]).astype(np.float64)
    experts = router.shape[1]
    outputs, routed, probabilities = [], np.zeros(experts), np.zeros(experts)
    for token in tokens:
        logits = token @ router
        p = np.exp(logits - logits.max())
        p /= p.sum()
        top = np.argsort(-p)[:layer.top_k]
        out = np.zeros_like(token)
        for e in top:
            hidden = token @ gate[e]
            out += p[e] / p[top].sum() * ((hidden / (1 + np.exp(-hidden)) * (token @ up[e])) @ down[e])
        outputs.append(out)
        routed[top] += 1
        probabilities += p
    balance = layer.aux_weight * experts * np.sum(routed / len(tokens) * probabilities / len(tokens))
    return np.stack(outputs).reshape(x.shape), balance


def test_output_and_balance_loss_equal_a_numpy_computation() -> None:
    layer = MixtureOfExperts(6, 5, 7, top_k=2, aux_weight=0.03, rngs=nnx.Rngs(flat_drawing(3)))
    x = np.asarray(jax.random.normal(flat_drawing(4), (3, 4, 6)))
    expected, balance = numpy_moe(layer, x)
    output, sown = nnx.capture(layer, AuxiliaryLoss)(jnp.asarray(x), train=True)
    np.testing.assert_allclose(np.asarray(output), expected, rtol=1e-5, atol=1e-5)
    [aux] = jax.tree.leaves(sown)
    assert float(aux) == pytest.approx(balance, rel=1e-5)
    assert balance > 0.03 * 2  # the balanced minimum is aux_weight * k: these random weights are not balanced
    inference, sown = nnx.capture(layer, AuxiliaryLoss)(jnp.asarray(x), train=False)
    np.testing.assert_allclose(np.asarray(inference), expected, rtol=1e-5, atol=1e-5)
    assert not jax.tree.leaves(sown)  # sown in training only


def test_tiny_counts_are_exact_in_both_syntaxes_and_built() -> None:
    (loaded, analysis), (_, dsl_analysis) = checked("moe_tiny.yaml"), checked("moe_tiny.dsl")
    assert analysis.totals.trainable == TINY_PARAMS == 25_322
    assert dsl_analysis.totals == analysis.totals
    assert [replace(layer, span=None) for layer in dsl_analysis.layers] == [replace(layer, span=None)
                                                                          for layer in analysis.layers]
    model = nnx.eval_shape(lambda: build_model(loaded, analysis))
    assert sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(nnx.state(model, nnx.Param))) == TINY_PARAMS


def test_tiny_trains_on_digits_with_the_balance_loss_added() -> None:
    loaded, analysis = checked("moe_tiny.dsl")
    train = loaded.spec.train
    assert train is not None
    digits = load_dataset(loaded, analysis, seed=0).train
    batch = Batch(tuple(jnp.asarray(x[:32]) for x in digits.inputs), jnp.asarray(digits.target[:32]))
    graphdef, state = init_state(build_model(loaded, analysis), train)
    steps = make_steps(graphdef, train)
    # Evaluation reports the spec's loss alone; the model has no dropout, so training's forward pass is the same.
    main_loss = float(steps.eval(state, batch)["loss"])
    losses = []
    for _ in range(6):
        state, metrics = steps.train(state, batch)
        losses.append(float(metrics["loss"]))
        if len(losses) == 1:
            assert 0.01 * 2 <= float(metrics["aux_loss"]) < 0.01 * 4  # aux_weight * (k when balanced .. E)
            assert losses[0] == pytest.approx(main_loss + float(metrics["aux_loss"]), rel=1e-5)
    assert all(math.isfinite(loss) for loss in losses) and losses[-1] < losses[0]
