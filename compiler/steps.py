"""Losses, metrics, optimizers and the train and eval steps: pure functions over a pure-array state.

docs/architecture.md#compiler, docs/performance.md#lessons: the hot loop runs plain `jax.jit` functions with the state
donated, never `nnx.jit` (20x slower per step on a dispatch-bound model). The
NNX model is split once (`init_state`) into a static `GraphDef` and a
`TrainState` of nested dicts of arrays; each step merges them back *inside* the
traced function, so the merge costs trace time only. The state holds plain
dicts rather than `nnx.State` objects because JAX flattens them in C++: on the
W3 tiny MLP a step took 77 µs with dicts against 190 µs with `nnx.State`.

What a step computes:
- the loss in float32 whatever the compute dtype (`precision: bfloat16` builds
  the model with bf16 compute and float32 parameters; gradients and optimizer
  state stay float32);
- gradients of the *trainable* parameters only: frozen parameters live in
  `TrainState.rest` beside batch statistics and RNG state, get no gradient, no
  optimizer state and no update;
- the NaN/Inf guard (docs/safety.md#training): a step whose loss or global gradient norm is
  not finite leaves the whole state unchanged and says so in `metrics["finite"]`
  (`optax.apply_if_finite` would still apply an update after N bad steps);
- metrics as batch means (weighted by `Batch.weight` when given, so that a
  padded last batch needs no second compilation); perplexity is the exp of the
  batch's mean cross-entropy (`checks.GEOMETRIC_METRICS`: combined over batches
  by a weighted geometric mean, which keeps it the exp of the split's mean);
- `accumulate: K`: the batch is computed as K micro-batches of batch/K in one
  `lax.scan`, gradients and metrics summed with the examples' weights and divided
  by the batch's total weight, so the update is the whole batch's up to float
  order while only one micro-batch's activations are alive. Batch statistics and
  RNG streams advance once per micro-batch; auxiliary losses are the mean of the
  micro-batches' (a load-balancing loss over batch/K examples, K times);
- weight decay (adamw, lion) on kernels and embeddings only (`decay_mask`);
- the auxiliary losses that layers sow in training (`_flax.AuxiliaryLoss`, e.g.
  a mixture of experts' load balancing) added to the training loss, which the
  `loss` metric reports, with their sum as `aux_loss`; evaluation reports the
  spec's loss alone. They are over every example of the batch, padding too.

Batches: `Batch(inputs, target, weight)`, arrays with a leading batch axis;
`multi_step` takes the same with one more leading axis of K steps and runs them
in one `lax.scan` (the runtime's fused loop).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from dslc.compiler.build import SpecModel, trainable_filter
from dslc.compiler.checks import GEOMETRIC_METRICS, metric_name
from dslc.compiler.random_draws import drawing_flat, drawing_threefry
from dslc.spec.ir import Train
from dslc.spec.layers._flax import AuxiliaryLoss
from dslc.spec.vocab import (
    BINARY_LOSSES,
    Accuracy,
    Adafactor,
    Adam,
    AdamW,
    BitsPerByte,
    Constant,
    Cosine,
    Exponential,
    Huber,
    LossChoice,
    MeanSquaredError,
    MetricChoice,
    MseMetric,
    OptimizerChoice,
    Perplexity,
    RmsProp,
    ScheduleChoice,
    Sgd,
    SigmoidBinaryCrossEntropy,
    SoftmaxCrossEntropy,
    TopK,
)

PyTree = Any
# (outputs in float32, target) -> one value per example, shape (batch,)
PerExample = Callable[[jax.Array, jax.Array], jax.Array]


class Batch(NamedTuple):
    """One batch: the model's inputs in spec order, the target, optional per-example weights (0 = padding)."""

    inputs: tuple[jax.Array, ...]
    target: jax.Array
    weight: jax.Array | None = None


class TrainState(NamedTuple):
    """Everything a run carries from step to step, as pytrees of arrays (checkpointable as is).

    `params` are the trainable parameters; `rest` is the rest of the model's state (frozen
    parameters, batch statistics, RNG keys and counters), both nested dicts keyed like the
    model's attributes; `step` counts the updates applied.
    """

    params: dict[str, Any]
    rest: dict[str, Any]
    opt_state: PyTree
    step: jax.Array


@dataclass(frozen=True, eq=False)
class Task:
    """What the steps need from the `train` section, as functions: built once, closed over by the jitted steps."""

    loss: PerExample
    metrics: tuple[tuple[str, PerExample], ...]
    tx: optax.GradientTransformation
    schedule: optax.Schedule
    accumulate: int = 1  # micro-batches per batch (`Train.accumulate`)


class Steps(NamedTuple):
    """The jitted steps, compiled once per batch shape (`make_steps`)."""

    train: Callable[[TrainState, Batch], tuple[TrainState, dict[str, jax.Array]]]
    eval: Callable[[TrainState, Batch], dict[str, jax.Array]]
    multi: Callable[[TrainState, Batch], tuple[TrainState, dict[str, jax.Array]]]
    eval_multi: Callable[[TrainState, Batch], dict[str, jax.Array]]


def compute_dtype(train: Train | None) -> str:
    """The dtype to build the model with (`build_model(..., dtype=...)`); parameters are float32 either way."""
    return "bfloat16" if train is not None and train.precision == "bfloat16" else "float32"


# -- losses and metrics ------------------------------------------------------------------------
def _per_example(values: jax.Array) -> jax.Array:
    """Mean over every axis but the batch axis: one value per example."""
    return values.reshape(values.shape[0], -1).mean(axis=1)


def _like_output(target: jax.Array, outputs: jax.Array) -> jax.Array:
    """A same-size target in the output's shape and dtype (e.g. flat pixels for an (8, 8, 1) output)."""
    return target.reshape(outputs.shape).astype(outputs.dtype)


def _softmax_cross_entropy(label_smoothing: float, z_loss: float = 0.0) -> PerExample:
    def loss(logits: jax.Array, labels: jax.Array) -> jax.Array:
        labels = labels.reshape(logits.shape[:-1]).astype(jnp.int32)
        if label_smoothing == 0.0:
            values = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
        else:
            soft = optax.smooth_labels(jax.nn.one_hot(labels, logits.shape[-1], dtype=logits.dtype),
                                       label_smoothing)
            values = optax.softmax_cross_entropy(logits, soft)
        if z_loss:  # PaLM's z-loss, per position
            values = values + z_loss * jnp.square(jax.nn.logsumexp(logits, axis=-1))
        return _per_example(values)
    return loss


def _cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """The plain mean cross-entropy per example, in nats (perplexity's exponent)."""
    labels = labels.reshape(logits.shape[:-1]).astype(jnp.int32)
    return _per_example(optax.softmax_cross_entropy_with_integer_labels(logits, labels))


def _bits(logits: jax.Array, labels: jax.Array) -> jax.Array:
    return _cross_entropy(logits, labels) / jnp.log(2.0)


def _sigmoid_binary_cross_entropy(logits: jax.Array, target: jax.Array) -> jax.Array:
    return _per_example(optax.sigmoid_binary_cross_entropy(logits, _like_output(target, logits)))


def _squared_error(outputs: jax.Array, target: jax.Array) -> jax.Array:
    return _per_example(optax.squared_error(outputs, _like_output(target, outputs)))


def _absolute_error(outputs: jax.Array, target: jax.Array) -> jax.Array:
    return _per_example(jnp.abs(outputs - _like_output(target, outputs)))  # optax has no L1 loss


def _huber(delta: float) -> PerExample:
    def loss(outputs: jax.Array, target: jax.Array) -> jax.Array:
        return _per_example(optax.huber_loss(outputs, _like_output(target, outputs), delta=delta))
    return loss


def make_loss(loss: LossChoice) -> PerExample:
    """The spec's loss as a per-example function of float32 outputs and the target."""
    if isinstance(loss, SoftmaxCrossEntropy):
        return _softmax_cross_entropy(loss.label_smoothing, loss.z_loss)
    if isinstance(loss, Huber):
        return _huber(loss.delta)
    if isinstance(loss, SigmoidBinaryCrossEntropy):
        return _sigmoid_binary_cross_entropy
    return _squared_error if isinstance(loss, MeanSquaredError) else _absolute_error


def _class_accuracy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    labels = labels.reshape(logits.shape[:-1])
    return _per_example((jnp.argmax(logits, axis=-1) == labels).astype(jnp.float32))


def _binary_accuracy(logits: jax.Array, target: jax.Array) -> jax.Array:
    """Under sigmoid cross-entropy: a logit above 0 predicts 1."""
    return _per_example(((logits > 0) == (_like_output(target, logits) > 0.5)).astype(jnp.float32))


def _top_k_accuracy(k: int) -> PerExample:
    def metric(logits: jax.Array, labels: jax.Array) -> jax.Array:
        # The label is in the top k when fewer than k classes score strictly higher (no sort needed).
        labels = labels.reshape(logits.shape[:-1]).astype(jnp.int32)
        true_score = jnp.take_along_axis(logits, labels[..., None], axis=-1)
        return _per_example(((logits > true_score).sum(axis=-1) < k).astype(jnp.float32))
    return metric


def make_metric(metric: MetricChoice, loss: LossChoice) -> PerExample:
    """A metric per example; it reads the target the way the loss does (see `dslc.compiler.checks`).
    Perplexity's value per example is its cross-entropy: the steps take the exp of the batch's mean."""
    if isinstance(metric, Perplexity):
        return _cross_entropy
    if isinstance(metric, BitsPerByte):
        return _bits
    if isinstance(metric, TopK):
        return _top_k_accuracy(metric.k)
    if isinstance(metric, Accuracy):
        return _binary_accuracy if loss.kind in BINARY_LOSSES else _class_accuracy
    return _squared_error if isinstance(metric, MseMetric) else _absolute_error


# -- optimizers --------------------------------------------------------------------------------
def make_schedule(lr: float | ScheduleChoice) -> optax.Schedule:
    """The learning rate as an optax schedule (a number is a constant schedule)."""
    if isinstance(lr, float | int):
        return optax.constant_schedule(float(lr))
    if isinstance(lr, Constant):
        return optax.constant_schedule(lr.value)
    if isinstance(lr, Exponential):
        return optax.exponential_decay(lr.init, transition_steps=lr.decay_steps, decay_rate=lr.decay_rate,
                                       staircase=lr.staircase)
    if isinstance(lr, Cosine):
        return optax.cosine_decay_schedule(lr.init, decay_steps=lr.decay_steps, alpha=lr.alpha)
    # WarmupCosine: `dslc check` rejects warmup_steps >= decay_steps (E608)
    return optax.warmup_cosine_decay_schedule(lr.init, peak_value=lr.peak, warmup_steps=lr.warmup_steps,
                                              decay_steps=lr.decay_steps, end_value=lr.end)


def _base_optimizer(opt: OptimizerChoice, lr: optax.Schedule) -> optax.GradientTransformation:
    # Every spec default is passed explicitly: optax's defaults differ in places (lion's weight decay).
    if isinstance(opt, Sgd):
        return optax.sgd(lr, momentum=opt.momentum or None, nesterov=opt.nesterov)
    if isinstance(opt, Adam):
        return optax.adam(lr, b1=opt.b1, b2=opt.b2, eps=opt.eps)
    if isinstance(opt, AdamW):
        return optax.adamw(lr, b1=opt.b1, b2=opt.b2, eps=opt.eps, weight_decay=opt.weight_decay, mask=decay_mask)
    if isinstance(opt, RmsProp):
        return optax.rmsprop(lr, decay=opt.decay, eps=opt.eps, momentum=opt.momentum or None)
    if isinstance(opt, Adafactor):
        return optax.adafactor(lr)
    return optax.lion(lr, b1=opt.b1, b2=opt.b2, weight_decay=opt.weight_decay, mask=decay_mask)


def decay_mask(params: PyTree) -> PyTree:
    """True for the parameters weight decay applies to: kernels and embedding tables (two axes or more, not
    named `bias`). Biases, the scales and biases of layernorm, rmsnorm, batchnorm and groupnorm, layer scales
    and class tokens (one axis) are left alone: decaying them pulls a norm towards zero output rather than
    regularising a mapping. Embeddings are decayed, as GPT-2 and nanoGPT do (a tied table is the head's kernel)."""
    def decays(path: tuple[Any, ...], leaf: jax.Array) -> bool:
        name = getattr(path[-1], "key", None) if path else None
        return jnp.ndim(leaf) >= 2 and name != "bias"
    return jax.tree_util.tree_map_with_path(decays, params)


def make_optimizer(train: Train, trainable_mask: PyTree | None = None) -> optax.GradientTransformation:
    """The spec's optimizer: `clip_by_global_norm` first when `clip_norm` is set, then the optimizer.

    `trainable_mask` (a pytree of booleans shaped like the parameters it will see) is for
    callers that hand the optimizer frozen parameters too: those get exactly zero updates
    (`optax.partition` with `set_to_zero`; `optax.masked` would pass their raw gradients
    through as updates). The steps here never need it: they differentiate trainable
    parameters only.
    """
    opt = train.optimizer
    tx = _base_optimizer(opt, make_schedule(opt.lr))
    if opt.clip_norm is not None:
        tx = optax.chain(optax.clip_by_global_norm(opt.clip_norm), tx)
    if trainable_mask is None:
        return tx
    labels = jax.tree.map(lambda trainable: "train" if trainable else "frozen", trainable_mask)
    return optax.partition({"train": tx, "frozen": optax.set_to_zero()}, labels)


def make_task(train: Train) -> Task:
    metrics = tuple((metric_name(metric), make_metric(metric, train.loss)) for metric in train.metrics)
    return Task(loss=make_loss(train.loss), metrics=metrics, tx=make_optimizer(train),
                schedule=make_schedule(train.optimizer.lr), accumulate=train.accumulate)


# -- state -------------------------------------------------------------------------------------
def init_state(model: nnx.Module, train: Train | Task, *,
               trainable: Any = None) -> tuple[nnx.GraphDef, TrainState]:
    """Split `model` into its static graph and a fresh `TrainState` (optimizer state from `train`).

    `trainable` is an NNX filter selecting the trainable parameters; by default a `SpecModel`'s
    `trainable_filter` (layers not marked `trainable: false`), else every `nnx.Param`.
    The state shares the model's arrays and the steps donate them: do not use `model` afterwards
    (rebuild it from the state with `model_from_state`).
    """
    task = train if isinstance(train, Task) else make_task(train)
    if trainable is None:
        trainable = trainable_filter(model) if isinstance(model, SpecModel) else nnx.Param
    graphdef, trainable_state, *remainder = nnx.split(model, trainable, ...)
    (rest_state,) = remainder  # two filters (trainable, then everything else): one remainder
    params, rest = nnx.to_pure_dict(trainable_state), nnx.to_pure_dict(rest_state)
    opt_state = jax.jit(task.tx.init)(params)  # one compiled call instead of one dispatch per leaf
    return graphdef, TrainState(params, rest, opt_state, jnp.zeros((), jnp.int32))


def model_from_state(graphdef: nnx.GraphDef, state: TrainState) -> nnx.Module:
    """The NNX model holding the state's arrays (for export, inspection, eager use)."""
    return nnx.merge(graphdef, state.params, state.rest)


def _subset(template: dict[str, Any], full: dict[str, Any]) -> dict[str, Any]:
    """The entries of `full` at the paths of `template` (both nested dicts)."""
    return {key: _subset(value, full[key]) if isinstance(value, dict) else full[key]
            for key, value in template.items()}


def _mean(values: jax.Array, weight: jax.Array | None) -> jax.Array:
    if weight is None:
        return values.mean()
    weight = weight.astype(jnp.float32)
    return (values * weight).sum() / jnp.maximum(weight.sum(), 1e-12)


class Forward(NamedTuple):
    """A forward pass: the float32 output, the updated non-trainable state (batch statistics, RNG
    counters), and the sum of the auxiliary losses its layers sowed (None when none did)."""

    outputs: jax.Array
    rest: dict
    aux_loss: jax.Array | None


def _forward(graphdef: nnx.GraphDef, params: dict, rest: dict, batch: Batch, train: bool) -> Forward:
    model = nnx.merge(graphdef, params, drawing_flat(rest))  # the same dropout masks, compiled faster
    outputs, sown_state = nnx.capture(model, AuxiliaryLoss)(*batch.inputs, train=train)
    if isinstance(outputs, tuple):  # `dslc check` rejects several outputs for training (E602)
        raise ValueError("training supports models with one output only")
    sown = jax.tree.leaves(sown_state)  # whether there are any is known when tracing
    aux_loss = jnp.sum(jnp.stack([jnp.asarray(term, jnp.float32) for term in sown])) if sown else None
    kept = drawing_threefry(_subset(rest, nnx.to_pure_dict(nnx.state(model))))
    return Forward(outputs.astype(jnp.float32), kept, aux_loss)


def _finish(name: str, mean: jax.Array) -> jax.Array:
    """A metric's value from its per-example mean: perplexity is the exp of the mean cross-entropy."""
    return jnp.exp(mean) if name in GEOMETRIC_METRICS else mean


def _metrics(task: Task, outputs: jax.Array, batch: Batch) -> dict[str, jax.Array]:
    return {name: _finish(name, _mean(metric(outputs, batch.target), batch.weight)) for name, metric in task.metrics}


def _sum(values: jax.Array, weight: jax.Array | None) -> jax.Array:
    return values.sum() if weight is None else (values * weight.astype(jnp.float32)).sum()


def _micro_batches(batch: Batch, k: int) -> Batch:
    """(batch, ...) -> (k, batch/k, ...): micro-batch i holds examples i, i+k, ...: strided, so that a batch split
    over devices splits each micro-batch over all of them."""
    return jax.tree.map(lambda x: x.reshape(x.shape[0] // k, k, *x.shape[1:]).swapaxes(0, 1), batch)


# -- the steps ---------------------------------------------------------------------------------
def _if(pred: jax.Array, then: Callable[..., Any], otherwise: Callable[..., Any], *operands: Any) -> Any:
    """`then(*operands)` if `pred` else `otherwise(*operands)`, the way each platform does it fastest.

    On CPU a conditional: in a minimal W3 step (64-32-10 MLP, Adam) a select over the whole state
    cut 24,000 steps/s to 10,000, `lax.cond` kept 25,800. Elsewhere a select, fused into the
    update kernels: a conditional would make the host wait for the device's predicate every step.
    """
    def select(*ops: Any) -> Any:
        return jax.tree.map(lambda a, b: jnp.where(pred, a, b), then(*ops), otherwise(*ops))

    def cond(*ops: Any) -> Any:
        return jax.lax.cond(pred, then, otherwise, *ops)

    return jax.lax.platform_dependent(*operands, cpu=cond, default=select)


class Gradients(NamedTuple):
    """A batch's loss and gradients, the non-trainable state after it, and its metrics (aux_loss among them)."""

    loss: jax.Array
    grads: dict
    rest: dict
    metrics: dict[str, jax.Array]


def _gradients(graphdef: nnx.GraphDef, state: TrainState, batch: Batch, task: Task) -> Gradients:
    def loss_fn(params: dict) -> tuple[jax.Array, Forward]:
        forward = _forward(graphdef, params, state.rest, batch, train=True)
        loss = _mean(task.loss(forward.outputs, batch.target), batch.weight)
        return loss if forward.aux_loss is None else loss + forward.aux_loss, forward

    (loss, forward), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    aux = {} if forward.aux_loss is None else {"aux_loss": forward.aux_loss}
    return Gradients(loss, grads, forward.rest, {**aux, **_metrics(task, forward.outputs, batch)})


def _accumulated(graphdef: nnx.GraphDef, state: TrainState, batch: Batch, task: Task) -> Gradients:
    """`_gradients` of the batch computed as `task.accumulate` micro-batches, one after another."""
    k = task.accumulate
    total = (jnp.asarray(batch.target.shape[0], jnp.float32) if batch.weight is None
             else jnp.maximum(batch.weight.astype(jnp.float32).sum(), 1e-12))

    def loss_fn(params: dict, rest: dict, part: Batch) -> tuple[jax.Array, Forward]:
        forward = _forward(graphdef, params, rest, part, train=True)
        loss = _sum(task.loss(forward.outputs, part.target), part.weight) / total  # this part's share
        return loss if forward.aux_loss is None else loss + forward.aux_loss / k, forward

    def body(carry: tuple[dict, dict], part: Batch) -> tuple[tuple[dict, dict], dict[str, jax.Array]]:
        grads, rest = carry
        (loss, forward), part_grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params, rest, part)
        sums = {name: _sum(metric(forward.outputs, part.target), part.weight) / total
                for name, metric in task.metrics}
        aux = {} if forward.aux_loss is None else {"aux_loss": forward.aux_loss / k}
        return (jax.tree.map(jnp.add, grads, part_grads), forward.rest), {"loss": loss, **aux, **sums}

    zeros = jax.tree.map(jnp.zeros_like, state.params)
    (grads, rest), parts = jax.lax.scan(body, (zeros, state.rest), _micro_batches(batch, k))
    sums = {name: values.sum() for name, values in parts.items()}
    metrics = {name: _finish(name, value) for name, value in sums.items() if name != "loss"}
    return Gradients(sums["loss"], grads, rest, metrics)


def _train_step(graphdef: nnx.GraphDef, state: TrainState, batch: Batch, task: Task,
                allowed: jax.Array | bool = True) -> tuple[TrainState, dict[str, jax.Array]]:

    def update(state: TrainState, grads: dict, rest: dict) -> TrainState:
        updates, opt_state = task.tx.update(grads, state.opt_state, state.params)
        return TrainState(optax.apply_updates(state.params, updates), rest, opt_state, state.step + 1)

    def keep(state: TrainState, grads: dict, rest: dict) -> TrainState:
        return state

    loss, grads, rest, batch_metrics = (_gradients if task.accumulate == 1 else _accumulated)(graphdef, state,
                                                                                              batch, task)
    grad_norm = optax.tree.norm(grads)
    finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm) & allowed
    # The guard: a non-finite step keeps every array of the old state (batch statistics and RNG too).
    new_state = _if(finite, update, keep, state, grads, rest)
    lr = jnp.asarray(task.schedule(state.step), jnp.float32)
    return new_state, {"loss": loss, "grad_norm": grad_norm, "finite": finite, "lr": lr, **batch_metrics}


def train_step(graphdef: nnx.GraphDef, state: TrainState, batch: Batch, *,
               task: Task) -> tuple[TrainState, dict[str, jax.Array]]:
    """One update. Metrics: loss, grad_norm, finite (False: not applied, state unchanged), lr, the spec's metrics."""
    return _train_step(graphdef, state, batch, task)


def eval_step(graphdef: nnx.GraphDef, state: TrainState, batch: Batch, *, task: Task) -> dict[str, jax.Array]:
    """Loss and metrics in inference mode (dropout off, batch statistics read, not updated)."""
    outputs = _forward(graphdef, state.params, state.rest, batch, train=False).outputs
    return {"loss": _mean(task.loss(outputs, batch.target), batch.weight), **_metrics(task, outputs, batch)}


def multi_step(graphdef: nnx.GraphDef, state: TrainState, batches: Batch, *, task: Task,
               unroll: int = 1) -> tuple[TrainState, dict[str, jax.Array]]:
    """K updates in one call: every array of `batches` has a leading axis of K steps.

    Equal to K `train_step` calls, with one difference that the guard needs: after the first
    non-finite step no later step is applied, so the state returned is the last good one and
    `metrics["finite"]` (shape (K,), like every metric) is False from that step on.
    `unroll` unrolls the scan body (docs/performance.md: a conv model needs it on CPU; measure).
    """
    def body(carry: tuple[TrainState, jax.Array], batch: Batch) -> tuple[tuple[TrainState, jax.Array], dict]:
        state, ok = carry
        state, metrics = _train_step(graphdef, state, batch, task, allowed=ok)
        return (state, metrics["finite"]), metrics

    (state, _), metrics = jax.lax.scan(body, (state, jnp.bool_(True)), batches, unroll=unroll)
    return state, metrics


def eval_multi(graphdef: nnx.GraphDef, state: TrainState, batches: Batch, *, task: Task) -> dict[str, jax.Array]:
    """`eval_step` over a leading axis of K batches in one call; every metric has shape (K,)."""
    return jax.lax.map(lambda batch: eval_step(graphdef, state, batch, task=task), batches)


def make_steps(graphdef: nnx.GraphDef, train: Train | Task, *, unroll: int = 1,
               state_shardings: TrainState | None = None) -> Steps:
    """The steps jitted once, the graph and the task closed over, the state donated (not for eval).

    Each compiles once per batch shape and dtype; keep them fixed (pad the last batch and give
    `Batch.weight`) and the loop never recompiles. `state_shardings` (a `TrainState` of
    shardings, e.g. parameters split over a mesh axis) is the layout the train steps return the
    state in, so that it keeps that layout from step to step; without it XLA chooses.
    """
    task = train if isinstance(train, Task) else make_task(train)
    # out_shardings's None: the metrics, laid out as XLA likes
    layout: dict[str, Any] = {} if state_shardings is None else {"out_shardings": (state_shardings, None)}
    return Steps(
        train=jax.jit(functools.partial(train_step, graphdef, task=task), donate_argnums=0, **layout),
        eval=jax.jit(functools.partial(eval_step, graphdef, task=task)),
        multi=jax.jit(functools.partial(multi_step, graphdef, task=task, unroll=unroll), donate_argnums=0, **layout),
        eval_multi=jax.jit(functools.partial(eval_multi, graphdef, task=task)),
    )
