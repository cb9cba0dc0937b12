"""Training language models: gradient accumulation equals the whole batch, weight decay skips biases and norms,
z-loss, perplexity and bits per byte by hand, activation checkpointing changes nothing but memory.

Tiny models throughout (a 16-wide decoder of two block uses), so that every test compiles in a few seconds.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.build import build_model, runs_of
from dslc.compiler.steps import Batch, TrainState, decay_mask, init_state, make_loss, make_steps, make_task
from dslc.runtime.loop import evaluate
from dslc.spec.load import LoadedSpec, load_text
from dslc.spec.vocab import BitsPerByte, SoftmaxCrossEntropy

LENGTH, VOCAB, EXAMPLES = 8, 32, 16

DECODER = """\
dslc: 1
blocks:
  layer:
    layers:
      - decoder_block: {{heads: 2, mlp_dim: 32, dropout: {dropout}}}
model:
  name: tiny_lm
  inputs: {{tokens: {{shape: [{length}], dtype: int32}}}}
  layers:
    - embedding: {{vocab: {vocab}, dim: 16}}
    - layer: {{}}
      repeat: 2
    - layernorm
    - dense: {{units: {vocab}}}
train:
  loss: softmax_cross_entropy
  optimizer: {optimizer}
  batch: {batch}
  steps: 1
  metrics: [accuracy, perplexity]
  data: {{text: {{path: t.txt}}}}
  accumulate: {accumulate}
"""


def decoder(accumulate: int = 1, dropout: float = 0.0, optimizer: str = "{sgd: {lr: 0.5}}") -> LoadedSpec:
    return load_text(DECODER.format(accumulate=accumulate, dropout=dropout, optimizer=optimizer, length=LENGTH,
                                    vocab=VOCAB, batch=EXAMPLES), "yaml")


def tokens(seed: int = 0, weight: bool = False) -> Batch:
    rng = np.random.default_rng(seed)
    ids = jnp.asarray(rng.integers(0, VOCAB, (EXAMPLES, LENGTH + 1)), jnp.int32)
    weights = jnp.asarray(rng.integers(0, 2, EXAMPLES), jnp.float32) if weight else None  # 0: padding
    return Batch((ids[:, :-1],), ids[:, 1:], weights)


def one_step(loaded: LoadedSpec, batch: Batch, *, remat: bool = False) -> tuple[TrainState, dict]:
    """The state before and the metrics and state after one update, on the host."""
    train = loaded.spec.train
    assert train is not None
    graphdef, state = init_state(build_model(loaded, analyse(loaded), seed=0, remat=remat), train)
    before = jax.tree.map(np.asarray, state.params)
    state, metrics = make_steps(graphdef, train).train(state, batch)
    after = jax.tree.map(np.asarray, state.params)
    return jax.tree.map(lambda a, b: a - b, before, after), {k: np.asarray(v) for k, v in metrics.items()}


def close(a: dict, b: dict, rtol: float) -> None:
    """Equal leaf by leaf up to float order, relative to the largest value of all: a gradient that is zero but
    for rounding (an attention key's bias) differs in its noise."""
    scale = max(float(np.abs(leaf).max()) for leaf in jax.tree.leaves(b))
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * scale)


def test_accumulating_four_micro_batches_equals_the_whole_batch() -> None:
    """With padding (weight 0) in some micro-batches: the weights, not the micro-batches, make the mean."""
    batch = tokens(weight=True)
    whole, whole_metrics = one_step(decoder(1), batch)
    parts, parts_metrics = one_step(decoder(4), batch)
    for name in ("loss", "grad_norm", "accuracy", "perplexity"):
        np.testing.assert_allclose(parts_metrics[name], whole_metrics[name], rtol=1e-5)
    close(parts, whole, 1e-5)  # lr x gradient


def test_remat_gives_the_same_loss_and_gradients() -> None:
    """Dropout on: the recomputed forward pass draws the same masks."""
    loaded = decoder(dropout=0.2)
    runs = runs_of(loaded.graph)
    assert [run.block for run in runs if run.block] == ["layer_1.1", "layer_1.2"]
    plain, plain_metrics = one_step(loaded, tokens())
    recomputed, remat_metrics = one_step(loaded, tokens(), remat=True)
    np.testing.assert_allclose(remat_metrics["loss"], plain_metrics["loss"], rtol=1e-6)
    close(recomputed, plain, 1e-5)  # lr x gradient, read through float32 parameters: their rounding


def test_weight_decay_skips_biases_and_norms() -> None:
    loaded = decoder(optimizer="{adamw: {lr: 0.1, weight_decay: 0.5}}")
    model = build_model(loaded, analyse(loaded), seed=0)
    _, state = init_state(model, loaded.spec.train)  # type: ignore[arg-type]
    params = state.params
    mask = decay_mask(params)
    flat = {jax.tree_util.keystr(path): decays for path, decays in jax.tree_util.tree_leaves_with_path(mask)}
    assert flat["['layers']['embedding_1']['embedding']"] and flat["['layers']['dense_1']['kernel']"]
    block = "['layers']['layer_1.1/decoder_block_1']"
    assert flat[f"{block}['mlp']['mlp_in']['kernel']"]
    for name in ("['layers']['dense_1']['bias']", "['layers']['layernorm_1']['scale']",
                 "['layers']['layernorm_1']['bias']", f"{block}['attention_norm']['scale']",
                 f"{block}['mlp']['mlp_in']['bias']"):
        assert not flat[name], name
    # With zero gradients, adamw's update is the decay alone: -lr x weight_decay x parameter, or zero where masked.
    tx = make_task(loaded.spec.train).tx  # type: ignore[arg-type]
    updates, _ = tx.update(jax.tree.map(jnp.zeros_like, params), tx.init(params), params)
    for (path, update), decays, value in zip(jax.tree_util.tree_leaves_with_path(updates), jax.tree.leaves(mask),
                                             jax.tree.leaves(params), strict=True):
        expected = -0.1 * 0.5 * np.asarray(value) if decays else np.zeros_like(value)
        np.testing.assert_allclose(update, expected, rtol=1e-6, err_msg=jax.tree_util.keystr(path))


LOGITS = np.array([[[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]], [[1.0, 1.0, 1.0], [4.0, 0.0, -2.0]]], np.float32)
LABELS = np.array([[0, 1], [2, 0]])


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per position, by hand: log-sum-exp minus the label's logit."""
    lse = np.log(np.exp(logits).sum(axis=-1))
    return lse - np.take_along_axis(logits, labels[..., None], axis=-1)[..., 0]


def test_z_loss_adds_the_squared_log_normaliser() -> None:
    plain = make_loss(SoftmaxCrossEntropy())(jnp.asarray(LOGITS), jnp.asarray(LABELS))
    z = make_loss(SoftmaxCrossEntropy(z_loss=1e-2))(jnp.asarray(LOGITS), jnp.asarray(LABELS))
    lse = np.log(np.exp(LOGITS).sum(axis=-1))
    np.testing.assert_allclose(plain, cross_entropy(LOGITS, LABELS).mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(z, (cross_entropy(LOGITS, LABELS) + 1e-2 * lse**2).mean(axis=1), rtol=1e-6)


def test_perplexity_and_bits_per_byte_by_hand() -> None:
    """Through the eval step and `evaluate`'s combination over batches: perplexity is the exp of the split's mean
    cross-entropy (not the mean of the batches' perplexities), bits per byte that mean in bits."""
    from flax import nnx

    class Logits(nnx.Module):  # the input is the logits: an identity with one (zero) parameter
        def __init__(self) -> None:
            self.bias = nnx.Param(jnp.zeros(3))

        def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
            return x + self.bias

    train = decoder().spec.train
    assert train is not None
    train = train.model_copy(update={"metrics": (*train.metrics[1:], BitsPerByte())})
    graphdef, state = init_state(Logits(), train)
    steps = make_steps(graphdef, train)
    positions = cross_entropy(LOGITS, LABELS)  # (2 examples, 2 positions)
    one = steps.eval(state, Batch((jnp.asarray(LOGITS),), jnp.asarray(LABELS)))
    np.testing.assert_allclose(one["perplexity"], np.exp(positions.mean()), rtol=1e-6)
    np.testing.assert_allclose(one["bits_per_byte"], positions.mean() / np.log(2), rtol=1e-6)

    class Split:  # two batches of one example each: the dataset interface `evaluate` reads
        def batch_indices(self, split: str, size: int, seed: int, epoch: int, shuffle: bool) -> tuple:
            return np.array([[0], [1]]), np.ones((2, 1), np.float32)

        def gather(self, split: str, rows: np.ndarray) -> tuple:
            return (LOGITS[rows],), LABELS[rows]

    combined = evaluate(steps, state, Split(), "validation", 1)  # type: ignore[arg-type]
    assert combined["perplexity"] == pytest.approx(float(np.exp(positions.mean())), rel=1e-6)
    assert combined["bits_per_byte"] == pytest.approx(float(positions.mean() / np.log(2)), rel=1e-6)

