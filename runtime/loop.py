"""The training loop: data on the device, several steps fused per call, evaluation, metrics, progress.

`run_training` is what `dslc train` runs and what tests call directly. It writes
`metrics.jsonl` (one JSON object per epoch and split) in the work directory and returns
the final metrics. A non-finite loss or gradient stops the run (`NonFiniteError`) at the
first bad step; that step was not applied.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from dslc.compiler.analysis.model import Analysis
from dslc.compiler.steps import Batch, Steps, TrainState
from dslc.runtime.data import Dataset
from dslc.runtime.progress import PlainReporter, Reporter
from dslc.spec.ir import Train


class NonFiniteError(Exception):
    """The loss or the gradients became NaN or infinite; the state holds the last good step."""

    def __init__(self, step: int) -> None:
        super().__init__(f"the loss or a gradient became NaN or infinite at step {step}; training stopped "
                         "(that step was not applied)")
        self.step = step


@dataclass
class RunResult:
    state: TrainState
    history: list[dict[str, object]] = field(default_factory=list)
    test: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    steps: int = 0


def fuse_factor(requested: int | None, analysis: Analysis, steps_per_epoch: int) -> int:
    """Steps per dispatch. Fusing pays on small dense models and costs on CPU convolutions (DESIGN §10)."""
    if requested is not None:
        return max(1, min(requested, steps_per_epoch))
    convolutional = any(layer.kind.startswith("conv") for layer in analysis.layers)
    if convolutional and jax.default_backend() == "cpu":
        return 1
    return max(1, min(16, steps_per_epoch))


def run_training(train: Train, analysis: Analysis, dataset: Dataset, state: TrainState, steps: Steps, *,
                 epochs: int, seed: int, workdir: Path, fuse: int | None = None,
                 reporter: Reporter | None = None) -> RunResult:
    workdir.mkdir(parents=True, exist_ok=True)
    batch_size = train.batch
    steps_per_epoch = math.ceil(len(dataset.train.target) / batch_size)
    k = fuse_factor(fuse, analysis, steps_per_epoch)
    reporter = reporter or PlainReporter()
    reporter.start(epochs, steps_per_epoch, batch_size)
    result = RunResult(state)
    started = time.perf_counter()
    with (workdir / "metrics.jsonl").open("w", encoding="utf-8") as log:
        for epoch in range(1, epochs + 1):
            epoch_start = time.perf_counter()
            result.state, losses = _train_epoch(steps, result.state, dataset, batch_size, epoch, seed, k,
                                                first_step=result.steps + 1, advance=reporter.advance)
            result.steps += steps_per_epoch
            train_metrics = {"loss": float(np.mean(losses))}
            validation = evaluate(steps, result.state, dataset, "validation", batch_size)
            seconds = time.perf_counter() - epoch_start
            for split, metrics in (("train", train_metrics), ("validation", validation)):
                record = {"epoch": epoch, "step": result.steps, "split": split, **metrics}
                log.write(json.dumps(record) + "\n")
                result.history.append(record)
            log.flush()
            shown = ", ".join(f"{name} {value:.4f}" for name, value in validation.items())
            reporter.epoch(f"epoch {epoch}/{epochs}: train loss {train_metrics['loss']:.4f}; validation {shown}; "
                   f"{steps_per_epoch * batch_size / seconds:,.0f} examples/s")
    reporter.close()
    result.test = evaluate(steps, result.state, dataset, "test", batch_size)
    result.seconds = time.perf_counter() - started
    return result


def _train_epoch(steps: Steps, state: TrainState, dataset: Dataset, batch_size: int, epoch: int, seed: int,
                 k: int, first_step: int, advance: Callable[[int], None]) -> tuple[TrainState, list[float]]:
    losses: list[jax.Array] = []
    pending: list[Batch] = []
    for batch in _device_batches(dataset, "train", batch_size, epoch, seed, shuffle=True):
        pending.append(batch)
        if len(pending) == k:
            state = _run(steps, state, pending, losses)
            advance(k)
            pending = []
    for batch in pending:  # the remainder runs one step at a time (a second, small compilation)
        state = _run(steps, state, [batch], losses)
        advance(1)
    host = np.asarray(jnp.concatenate([jnp.atleast_1d(loss) for loss in losses]))
    finite = np.isfinite(host)
    if not finite.all():
        raise NonFiniteError(first_step + int(np.argmin(finite)))
    return state, host.tolist()


def _run(steps: Steps, state: TrainState, batches: list[Batch], losses: list[jax.Array]) -> TrainState:
    if len(batches) == 1:
        state, metrics = steps.train(state, batches[0])
    else:
        stacked = jax.tree.map(lambda *leaves: jnp.stack(leaves), *batches)
        state, metrics = steps.multi(state, stacked)
    # a step that was not applied reports NaN, so the epoch check finds it without a host sync per step
    losses.append(jnp.where(metrics["finite"], metrics["loss"], jnp.nan))
    return state


def _device_batches(dataset: Dataset, split: str, batch_size: int, epoch: int, seed: int,
                    shuffle: bool) -> Iterator[Batch]:
    for inputs, target, weight in dataset.batches(split, batch_size, epoch, seed, shuffle):
        yield Batch(tuple(jax.device_put(x) for x in inputs), jax.device_put(target), jax.device_put(weight))


def evaluate(steps: Steps, state: TrainState, dataset: Dataset, split: str, batch_size: int) -> dict[str, float]:
    """Metrics over a whole split: per-batch weighted means, combined by the batches' weights."""
    totals: dict[str, float] = {}
    weight_sum = 0.0
    for batch in _device_batches(dataset, split, batch_size, 0, 0, shuffle=False):
        metrics = steps.eval(state, batch)
        weight = float(np.asarray(batch.weight).sum())
        weight_sum += weight
        for name, value in metrics.items():
            totals[name] = totals.get(name, 0.0) + float(value) * weight
    return {name: total / max(weight_sum, 1e-12) for name, total in totals.items()}
