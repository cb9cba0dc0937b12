"""The train and eval steps: every loss, metric, optimizer and schedule learns a tiny problem; frozen parameters,
dropout and batch statistics behave; the loop never recompiles; the state is donated; K fused steps equal K single
steps; the NaN guard keeps the last good state; bf16 compute keeps float32 parameters.

Hand-written NNX modules test the steps on their own; specs built with `build_model` test them end to end.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.build import build_model
from dslc.compiler.steps import (
    Batch,
    Steps,
    Task,
    TrainState,
    compute_dtype,
    init_state,
    make_loss,
    make_metric,
    make_optimizer,
    make_schedule,
    make_steps,
    make_task,
    model_from_state,
)
from dslc.spec.ir import Train
from dslc.spec.load import load_text
from dslc.spec.vocab import LOSSES, METRICS, SCHEDULES

FEATURES, CLASSES, EXAMPLES = 8, 3, 64
TRACES: list[str] = []  # a Python side effect: appended each time a model call is *traced*


class MLP(nnx.Module):
    def __init__(self, outputs: int = CLASSES, *, seed: int = 0, dtype: jnp.dtype = jnp.float32) -> None:
        rngs = nnx.Rngs(seed)
        self.hidden = nnx.Linear(FEATURES, 16, dtype=dtype, rngs=rngs)
        self.out = nnx.Linear(16, outputs, dtype=dtype, rngs=rngs)

    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        TRACES.append("mlp")
        return self.out(jax.nn.relu(self.hidden(x)))


class CNN(nnx.Module):
    """Conv -> BatchNorm -> relu -> Dropout -> Linear: state beyond parameters (batch statistics, RNG counters)."""

    def __init__(self, *, seed: int = 0, rate: float = 0.3) -> None:
        rngs = nnx.Rngs(seed)
        self.conv = nnx.Conv(1, 4, (3, 3), use_bias=False, rngs=rngs)  # a bias before BatchNorm has no gradient
        self.norm = nnx.BatchNorm(4, rngs=rngs)
        self.drop = nnx.Dropout(rate, rngs=rngs)
        self.out = nnx.Linear(4 * 4 * 2, CLASSES, rngs=rngs)

    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        x = x.reshape(x.shape[0], 4, 2, 1)
        x = jax.nn.relu(self.norm(self.conv(x), use_running_average=not train))
        x = self.drop(x, deterministic=not train)
        return self.out(x.reshape(x.shape[0], -1))


def make_train(loss: object = "softmax_cross_entropy", optimizer: object = None, metrics: tuple = (),
               precision: str = "float32") -> Train:
    def choice(value: object) -> dict:
        return {"kind": value} if isinstance(value, str) else value  # type: ignore[return-value]
    return Train.model_validate({
        "loss": choice(loss), "optimizer": optimizer or {"kind": "adam", "lr": 0.01}, "batch": EXAMPLES,
        "steps": 10, "metrics": tuple(choice(m) for m in metrics), "data": {"kind": "digits"}, "precision": precision})


def problem(kind: str = "classes", seed: int = 0) -> Batch:
    """A learnable task: targets are a fixed function of the inputs."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(EXAMPLES, FEATURES)).astype(np.float32)
    w = rng.normal(size=(FEATURES, CLASSES)).astype(np.float32)
    if kind == "classes":
        target = np.argmax(x @ w, axis=1).astype(np.int32)
    elif kind == "binary":
        target = (x @ w[:, :1] > 0).astype(np.float32)
    else:
        target = (x @ w).astype(np.float32)
    return Batch((jnp.asarray(x),), jnp.asarray(target))


def repeat(batch: Batch, k: int) -> Batch:
    return jax.tree.map(lambda a: jnp.stack([a] * k), batch)


def host(tree: object) -> object:
    """A host copy (the state's device buffers are donated by the next step); PRNG keys as their raw data."""
    def copy(leaf: jax.Array) -> np.ndarray:
        return np.array(jax.random.key_data(leaf) if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key) else leaf)
    return jax.tree.map(copy, tree)


@dataclass(frozen=True)
class Rig:
    """A model class and the default `train`, with steps compiled once and shared by the tests that need no other."""

    model: Callable[..., nnx.Module]
    task: Task
    graphdef: nnx.GraphDef
    steps: Steps

    def state(self, seed: int = 0) -> TrainState:
        return init_state(self.model(seed=seed), self.task)[1]


DEFAULT = {"metrics": ("accuracy", {"kind": "top_k", "k": 2})}


@functools.cache
def rig(name: str) -> Rig:
    model = {"mlp": MLP, "cnn": CNN}[name]
    task = make_task(make_train(**DEFAULT))
    graphdef, _ = init_state(model(), task)
    return Rig(model, task, graphdef, make_steps(graphdef, task))


def fit(train: Train, batch: Batch, outputs: int = CLASSES, steps: int = 40) -> np.ndarray:
    """The per-step losses of `steps` updates, fused into one compiled call."""
    graphdef, state = init_state(MLP(outputs), train)
    _, metrics = make_steps(graphdef, train).multi(state, repeat(batch, steps))
    assert bool(metrics["finite"].all())
    return np.asarray(metrics["loss"])


# -- every loss, optimizer and schedule learns ---------------------------------------------------
LOSS_CASES = {
    "softmax_cross_entropy": ("classes", CLASSES),
    "sigmoid_binary_cross_entropy": ("binary", 1),
    "mse": ("values", CLASSES),
    "mae": ("values", CLASSES),
    "huber": ("values", CLASSES),
}


def test_every_loss_is_tested() -> None:
    assert set(LOSS_CASES) == set(LOSSES.choices)


@pytest.mark.parametrize("loss", [*LOSS_CASES, {"kind": "softmax_cross_entropy", "label_smoothing": 0.1}], ids=str)
def test_every_loss_falls(loss: object) -> None:
    kind = loss if isinstance(loss, str) else loss["kind"]  # type: ignore[index]
    target, outputs = LOSS_CASES[kind]
    losses = fit(make_train(loss), problem(target), outputs)
    assert losses[-1] < 0.6 * losses[0], losses


OPTIMIZERS = [  # each schedule rides on another optimizer: every one runs, in fewer compilations
    {"kind": "sgd", "lr": {"kind": "exponential", "init": 0.2, "decay_rate": 0.5, "decay_steps": 20}},
    {"kind": "sgd", "lr": {"kind": "warmup_cosine", "peak": 0.05, "warmup_steps": 5, "decay_steps": 40},
     "momentum": 0.9, "nesterov": True},
    {"kind": "adam", "lr": {"kind": "cosine", "init": 0.02, "decay_steps": 40, "alpha": 0.1}},
    {"kind": "adamw", "lr": {"kind": "constant", "value": 0.01}, "weight_decay": 0.01},
    {"kind": "rmsprop", "lr": 0.005},
    {"kind": "rmsprop", "lr": 0.002, "momentum": 0.5, "clip_norm": 0.5},
    {"kind": "adafactor", "lr": 0.05},
    {"kind": "lion", "lr": 0.01, "weight_decay": 0.01},
]


def test_every_optimizer_and_schedule_is_tested() -> None:
    from dslc.spec.vocab import OPTIMIZERS as VOCAB
    assert {case["kind"] for case in OPTIMIZERS} == set(VOCAB.choices)
    assert {case["lr"]["kind"] for case in OPTIMIZERS if isinstance(case["lr"], dict)} == set(SCHEDULES.choices)


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=lambda case: str(case).replace(" ", ""))
def test_every_optimizer_and_schedule_falls(optimizer: dict) -> None:
    losses = fit(make_train(optimizer=optimizer), problem())
    assert losses[-1] < 0.6 * losses[0], losses


def test_schedules_follow_the_spec() -> None:
    warmup = make_train(optimizer={"kind": "adam", "lr": {"kind": "warmup_cosine", "init": 0.0, "peak": 1.0,
                                                           "warmup_steps": 10, "decay_steps": 30, "end": 0.1}})
    schedule = make_schedule(warmup.optimizer.lr)
    assert float(schedule(0)) == 0.0 and float(schedule(10)) == pytest.approx(1.0)
    assert float(schedule(30)) == pytest.approx(0.1) and float(schedule(100)) == pytest.approx(0.1)
    stairs = make_schedule(make_train(optimizer={"kind": "sgd", "lr": {"kind": "exponential", "init": 1.0,
                                                                       "decay_rate": 0.5, "decay_steps": 10,
                                                                       "staircase": True}}).optimizer.lr)
    assert [float(stairs(s)) for s in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]


def test_the_learning_rate_is_reported_per_step() -> None:
    train = make_train(optimizer={"kind": "sgd", "lr": {"kind": "exponential", "init": 0.1, "decay_rate": 0.5,
                                                        "decay_steps": 1}})
    graphdef, state = init_state(MLP(), train)
    _, metrics = make_steps(graphdef, train).multi(state, repeat(problem(), 3))
    np.testing.assert_allclose(metrics["lr"], [0.1, 0.05, 0.025], rtol=1e-6)


# -- losses and metrics, value by value ------------------------------------------------------------
LOGITS = jnp.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 1.0, 5.0], [0.5, 0.0, 0.2]])
LABELS = jnp.array([0, 2, 2, 1])


def test_every_metric_is_tested() -> None:
    # perplexity and bits_per_byte: tests/compiler/test_language_training.py
    assert {"accuracy", "top_k", "mse", "mae", "perplexity", "bits_per_byte"} == set(METRICS.choices)


def test_classification_metrics() -> None:
    loss = make_train().loss
    accuracy = make_metric(METRICS.choices["accuracy"](), loss)
    np.testing.assert_allclose(accuracy(LOGITS, LABELS), [1, 0, 1, 0])
    top2 = make_metric(METRICS.choices["top_k"](k=2), loss)
    np.testing.assert_allclose(top2(LOGITS, LABELS), [1, 1, 1, 0])  # ranks of the labels: 0, 1, 0, 2
    # Per position for sequence outputs (batch, time, classes): one value per example.
    np.testing.assert_allclose(accuracy(LOGITS.reshape(2, 2, 3), LABELS.reshape(2, 2)), [0.5, 0.5])


def test_binary_accuracy_under_sigmoid_cross_entropy() -> None:
    accuracy = make_metric(METRICS.choices["accuracy"](), make_train("sigmoid_binary_cross_entropy").loss)
    np.testing.assert_allclose(accuracy(jnp.array([[2.0], [-1.0], [0.5]]), jnp.array([1.0, 1.0, 0.0])), [1, 0, 0])


def test_regression_metrics_and_losses() -> None:
    outputs, target = jnp.array([[1.0, 2.0], [0.0, -4.0]]), jnp.array([[0.0, 2.0], [0.0, 0.0]])
    train = make_train("mse")
    np.testing.assert_allclose(make_metric(METRICS.choices["mse"](), train.loss)(outputs, target), [0.5, 8.0])
    np.testing.assert_allclose(make_metric(METRICS.choices["mae"](), train.loss)(outputs, target), [0.5, 2.0])
    np.testing.assert_allclose(make_loss(LOSSES.choices["mae"]())(outputs, target), [0.5, 2.0])
    huber = make_loss(LOSSES.choices["huber"](delta=1.0))(outputs, target)  # 0.5·e² within delta, linear beyond
    np.testing.assert_allclose(huber, [0.25, 1.75])
    # A same-size target in another shape (flat pixels for an image output) is reshaped.
    np.testing.assert_allclose(make_loss(train.loss)(outputs, target.reshape(2, 2)), [0.5, 8.0])


def test_label_smoothing() -> None:
    smoothed = make_loss(LOSSES.choices["softmax_cross_entropy"](label_smoothing=0.3))(LOGITS, LABELS)
    soft = np.asarray(jax.nn.one_hot(LABELS, 3)) * 0.7 + 0.1
    expected = -(soft * np.asarray(jax.nn.log_softmax(LOGITS))).sum(axis=1)
    np.testing.assert_allclose(smoothed, expected, rtol=1e-6)


def test_weights_leave_padding_out() -> None:
    """A padded last batch: weight 0 on the padding gives the metrics of the real examples alone."""
    cnn = rig("cnn")
    state, batch = cnn.state(), problem()
    half = Batch(tuple(x[:32] for x in batch.inputs), batch.target[:32])
    weight = jnp.concatenate([jnp.ones(32), jnp.zeros(32)])
    padded = cnn.steps.eval(state, Batch(batch.inputs, batch.target, weight))
    alone = cnn.steps.eval(state, half)
    # Equal only if eval normalises with running statistics, not with the (padded) batch's own.
    for name in ("loss", "accuracy"):
        np.testing.assert_allclose(padded[name], alone[name], rtol=1e-6)


# -- frozen parameters, dropout, batch statistics ------------------------------------------------
def test_frozen_parameters_do_not_change() -> None:
    train = make_train()
    graphdef, state = init_state(MLP(), train, trainable=nnx.All(nnx.Param, nnx.PathContains("out")))
    assert set(state.params) == {"out"} and "hidden" in state.rest
    before = host(state)
    state, _ = make_steps(graphdef, train).multi(state, repeat(problem(), 5))
    np.testing.assert_array_equal(state.rest["hidden"]["kernel"], before.rest["hidden"]["kernel"])
    assert not np.allclose(state.params["out"]["kernel"], before.params["out"]["kernel"])
    # No optimizer state is kept for frozen parameters.
    assert all(leaf.size != 16 * FEATURES for leaf in jax.tree.leaves(state.opt_state))


def test_masked_optimizer_gives_frozen_parameters_zero_updates() -> None:
    params = {"a": jnp.ones(3), "b": jnp.ones(2)}
    tx = make_optimizer(make_train(optimizer={"kind": "adamw", "lr": 0.1, "weight_decay": 0.1}),
                        trainable_mask={"a": True, "b": False})
    updates, _ = tx.update({"a": jnp.ones(3), "b": jnp.ones(2)}, tx.init(params), params)
    assert float(jnp.abs(updates["a"]).min()) > 0
    np.testing.assert_array_equal(updates["b"], 0.0)


def test_dropout_only_in_training() -> None:
    cnn = rig("cnn")
    state, batch = cnn.state(), problem()
    count = int(state.rest["drop"]["rngs"]["count"])
    first = float(cnn.steps.eval(state, batch)["loss"])
    assert float(cnn.steps.eval(state, batch)["loss"]) == first  # inference is deterministic
    assert int(state.rest["drop"]["rngs"]["count"]) == count  # and draws no random numbers
    for step in range(1, 3):
        state, _ = cnn.steps.train(state, batch)
        assert int(state.rest["drop"]["rngs"]["count"]) == count + step  # one mask per training step


    @jax.jit  # one compilation rather than one per eager operation
    def twice(state: TrainState, x: jax.Array) -> tuple[jax.Array, ...]:
        model = model_from_state(cnn.graphdef, state)
        return model(x, train=True), model(x, train=True), model(x, train=False), model(x, train=False)

    train_a, train_b, eval_a, eval_b = twice(state, batch.inputs[0])
    assert not np.array_equal(train_a, train_b)  # a new mask each call
    np.testing.assert_array_equal(eval_a, eval_b)


def test_batch_statistics_update_in_training_only() -> None:
    cnn = rig("cnn")
    state, batch = cnn.state(), problem()
    before = host(state.rest["norm"])
    cnn.steps.eval(state, batch)
    np.testing.assert_array_equal(state.rest["norm"]["mean"], before["mean"])  # eval returns no state at all
    state, _ = cnn.steps.train(state, batch)
    assert not np.allclose(state.rest["norm"]["mean"], before["mean"])
    assert not np.allclose(state.rest["norm"]["var"], before["var"])


# -- compilation and donation --------------------------------------------------------------------
def test_no_recompilation_across_steps() -> None:
    train = make_train(metrics=("accuracy", {"kind": "top_k", "k": 2}))
    graphdef, state = init_state(MLP(), train)
    steps, batch = make_steps(graphdef, train), problem()
    TRACES.clear()
    for _ in range(5):
        state, _ = steps.train(state, batch)
        steps.eval(state, batch)
    for _ in range(3):
        state, _ = steps.multi(state, repeat(batch, 4))
    # One trace each: train (1), eval (1), multi (1: lax.scan traces its body once).
    assert TRACES == ["mlp"] * 3
    assert (steps.train._cache_size(), steps.eval._cache_size(), steps.multi._cache_size()) == (1, 1, 1)


def test_the_state_is_donated() -> None:
    cnn = rig("cnn")
    state, batch = cnn.state(), problem()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Some donated buffers were not usable" would fail here
        new, _ = cnn.steps.train(state, batch)
        assert all(leaf.is_deleted() for leaf in jax.tree.leaves(state))
        newer, _ = cnn.steps.multi(new, repeat(batch, 2))
        assert all(leaf.is_deleted() for leaf in jax.tree.leaves(new))
    cnn.steps.eval(newer, batch)  # eval does not donate: the state lives on
    assert not any(leaf.is_deleted() for leaf in jax.tree.leaves(newer))


def test_multi_step_equals_single_steps() -> None:
    """4 fused steps (the scan unrolled by 3: a remainder too) against 4 calls: dropout masks and statistics too."""
    cnn = rig("cnn")
    batches = [problem(seed=s) for s in range(4)]
    single, fused = cnn.state(seed=1), cnn.state(seed=1)
    losses = []
    for batch in batches:
        single, metrics = cnn.steps.train(single, batch)
        losses.append(float(metrics["loss"]))
    multi = make_steps(cnn.graphdef, cnn.task, unroll=3).multi
    fused, metrics = multi(fused, jax.tree.map(lambda *xs: jnp.stack(xs), *batches))
    np.testing.assert_allclose(metrics["loss"], losses, rtol=1e-5)
    for a, b in zip(jax.tree.leaves(host(single)), jax.tree.leaves(host(fused)), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert int(fused.step) == 4


# -- the NaN/Inf guard -----------------------------------------------------------------------------
def poisoned(batch: Batch) -> Batch:
    return Batch((batch.inputs[0].at[0, 0].set(jnp.inf),), batch.target)


def test_nan_guard_keeps_the_state() -> None:
    cnn = rig("cnn")
    state = cnn.state()
    before = host(state)
    state, metrics = cnn.steps.train(state, poisoned(problem()))
    assert not bool(metrics["finite"]) and not np.isfinite(float(metrics["loss"]))
    for a, b in zip(jax.tree.leaves(host(state)), jax.tree.leaves(before), strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(state.step) == 0
    state, metrics = cnn.steps.train(state, problem())  # a good batch trains on from there
    assert bool(metrics["finite"]) and int(state.step) == 1


def test_nan_guard_in_fused_steps_stops_at_the_first_bad_step() -> None:
    mlp, good = rig("mlp"), problem()
    state, reference = mlp.state(), mlp.state()
    chunk = jax.tree.map(lambda *xs: jnp.stack(xs), good, poisoned(good), good, good)
    state, metrics = mlp.steps.multi(state, chunk)
    assert metrics["finite"].tolist() == [True, False, False, False]
    assert int(state.step) == 1
    reference, _ = mlp.steps.train(reference, good)
    for a, b in zip(jax.tree.leaves(host(state)), jax.tree.leaves(host(reference)), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)  # two compilations: equal up to rounding (exact on CPU)


# -- precision -------------------------------------------------------------------------------------
def test_bfloat16_compute_keeps_float32_parameters() -> None:
    train = make_train(precision="bfloat16")
    assert compute_dtype(train) == "bfloat16"
    model = MLP(dtype=jnp.dtype(compute_dtype(train)))
    assert model(problem().inputs[0], train=False).dtype == jnp.bfloat16
    graphdef, state = init_state(model, train)
    state, metrics = make_steps(graphdef, train).multi(state, repeat(problem(), 30))
    assert {leaf.dtype for leaf in jax.tree.leaves(state.params)} == {jnp.dtype("float32")}
    assert {leaf.dtype for leaf in jax.tree.leaves(state.opt_state) if leaf.ndim} == {jnp.dtype("float32")}
    assert metrics["loss"].dtype == jnp.float32
    assert float(metrics["loss"][-1]) < 0.6 * float(metrics["loss"][0])


# -- specs built end to end ------------------------------------------------------------------------
SPEC = """\
dslc: 1
model:
  name: tiny
  inputs: {{x: [8]}}
  layers:
    - dense: {{units: 16, activation: relu}}
      name: base
      trainable: false
    - batchnorm
    - dropout: {{rate: 0.1}}
    - dense: {{units: 3}}
      name: head
train:
  loss: softmax_cross_entropy
  optimizer: {{adam: {{lr: 0.02}}}}
  batch: 64
  steps: 30
  metrics: [accuracy]
  data: digits
  precision: {precision}
"""


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_a_built_spec_trains(precision: str) -> None:
    loaded = load_text(SPEC.format(precision=precision), "yaml")
    train = loaded.spec.train
    model = build_model(loaded, analyse(loaded), seed=0, dtype=compute_dtype(train))
    graphdef, state = init_state(model, train)  # a SpecModel's own trainable filter
    assert "base" not in state.params["layers"] and "base" in state.rest["layers"]
    frozen = host(state.rest["layers"]["base"])
    state, metrics = make_steps(graphdef, train).multi(state, repeat(problem(), 30))
    assert float(metrics["loss"][-1]) < 0.7 * float(metrics["loss"][0])
    assert {leaf.dtype for leaf in jax.tree.leaves(state.params)} == {jnp.dtype("float32")}
    for a, b in zip(jax.tree.leaves(host(state.rest["layers"]["base"])), jax.tree.leaves(frozen), strict=True):
        np.testing.assert_array_equal(a, b)
    rebuilt = model_from_state(graphdef, state)
    assert rebuilt(problem().inputs[0], train=False).shape == (EXAMPLES, CLASSES)


def test_state_is_a_pytree_of_arrays() -> None:
    state = rig("mlp").state()
    assert isinstance(state, TrainState) and isinstance(state.params, dict)
    assert all(isinstance(leaf, jax.Array) for leaf in jax.tree.leaves(state))