"""The training loop: fused steps on staged data, evaluation, early stopping, checkpoints, resume.

`run_training` is what `dslc train` runs. An epoch is cut into chunks of K steps (the
fuse factor); each chunk is one `lax.scan` call over a device-resident stack of K
batches, and the next chunk is gathered (on the device, from a copy of the train split
sent there once, where it fits; else on the host, then sent) while the current one runs.
The losses of a chunk are read back one chunk late, so the host never waits for the
device except at checkpoints and epoch ends.

Resume: a checkpoint records the loop's position (steps run), the current epoch's losses
so far and the monitors' state. Data order depends on (seed, epoch) only, and chunks are
cut the same way in every run, so a resumed run computes exactly what the uninterrupted
run computed: same parameters, bit for bit, on the same machine.

Stops: `NonFiniteError` at the first step whose loss or gradient is not finite (found one
chunk late; no state after it is ever saved); `Interrupted` after SIGINT or SIGTERM, once
the current chunk is done and a checkpoint saved.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np

from dslc.compiler.analysis.model import Analysis
from dslc.compiler.checks import GEOMETRIC_METRICS, metric_mode
from dslc.compiler.steps import Batch, Steps, TrainState
from dslc.runtime import pipeline
from dslc.runtime.checkpoint import Checkpoints, Restored, Stored, snapshot
from dslc.runtime.chunks import Chunk, chunks
from dslc.runtime.data import Dataset
from dslc.runtime.parallel import Placement
from dslc.runtime.pending import PendingState, abstract_state, ready
from dslc.runtime.programs import ProgramCache
from dslc.runtime.progress import PlainReporter, Reporter, examples_per_second, plural
from dslc.runtime.runlog import RunLog
from dslc.runtime.session import steps_per_epoch
from dslc.spec.ir import Train

MAX_FUSE = 64
MAX_CHUNK_BYTES = 64 * 2**20  # a chunk's inputs on the device
RESIDENT_BYTES = 2**30  # a train split up to this size stays on a single device for the whole run (`_Stager`)
# Without `checkpoint.every`, save at an epoch's end once this long has passed since the last save (and at the
# run's end, on early stopping and on an interrupt): each save costs about 0.1 s of the loop's time.
SAVE_SECONDS = 30.0


class NonFiniteError(Exception):
    """The loss or the gradients became NaN or infinite; nothing from that step on was saved."""

    def __init__(self, step: int) -> None:
        super().__init__(f"the loss or a gradient became NaN or infinite at step {step}; training stopped "
                         "(the last checkpoint, if any, holds finite state)")
        self.step = step


class Interrupted(Exception):
    """SIGINT or SIGTERM: the run saved a checkpoint at `step` and stopped."""

    def __init__(self, step: int) -> None:
        super().__init__(f"interrupted at step {step}")
        self.step = step
        self.workdir = Path()  # set by the caller that knows the run's work directory


@dataclass
class Monitor:
    """The best value of one validation metric so far, and how many epochs ago it was reached."""

    name: str
    min_delta: float = 0.0
    best: float | None = None
    best_epoch: int = 0
    stale: int = 0

    def update(self, metrics: dict[str, float], epoch: int) -> bool:
        """Take an epoch's validation metrics; True when the monitored value improved."""
        value = metrics.get(self.name)
        if value is None:  # no validation split: nothing to compare
            return False
        if self.best is None:
            better = True
        elif metric_mode(self.name) == "min":
            better = value < self.best - self.min_delta
        else:
            better = value > self.best + self.min_delta
        if better:
            self.best, self.best_epoch, self.stale = value, epoch, 0
        else:
            self.stale += 1
        return better


@dataclass(frozen=True)
class Plan:
    """How a run goes: how long, how many steps per dispatch, when to save, when to stop."""

    epochs: int
    batch: int
    seed: int
    fuse: int
    every: int | None = None  # save every this many steps; None: at each epoch's end
    best: str = "loss"  # keep the checkpoint with the best validation value of this
    patience: int | None = None  # stop after this many epochs without improvement of `early`
    early: str = "loss"
    min_delta: float = 0.0
    # saved with each checkpoint (docs/architecture.md#determinism)
    environment: dict[str, Any] = field(default_factory=dict)
    statistics: dict[str, Any] = field(default_factory=dict)  # the data's normalisation (`Statistics.to_json`)
    workers: int = 0  # processes that make decoded batches (`--workers`); the batches are the same with any number

    @classmethod
    def of(cls, train: Train, *, epochs: int, seed: int, fuse: int, environment: dict[str, Any],
           statistics: dict[str, Any] | None = None, workers: int = 0) -> Plan:
        """The plan a spec's train section asks for (checkpoints, the best checkpoint's metric, early stopping)."""
        stopping = train.early_stopping
        return cls(epochs=epochs, batch=train.batch, seed=seed, fuse=fuse,
                   every=train.checkpoint.every if train.checkpoint else None,
                   best=(train.checkpoint.best if train.checkpoint else None) or "loss",
                   patience=stopping.patience if stopping else None,
                   early=stopping.monitor if stopping else "loss",
                   min_delta=stopping.min_delta if stopping else 0.0,
                   environment=environment, statistics=statistics or {}, workers=workers)


@dataclass
class RunResult:
    state: Any  # TrainState (a PendingState until the first chunk has waited for it)
    steps: int = 0
    epochs: int = 0
    test: dict[str, float] = field(default_factory=dict)
    stopped_early: bool = False
    # From the first dispatch's end to the last validation's, less any wait for the validation step's compilation
    # (compilation excluded, the first dispatch's as the validation step's).
    train_seconds: float = 0.0
    timed_steps: int = 0  # the steps run in `train_seconds` (the first dispatch's are not)
    first_step_at: float | None = None  # time.time() when the first step had finished


def fuse_factor(requested: int | None, analysis: Analysis, dataset: Dataset, batch: int) -> int:
    """Steps per dispatch. Fusing pays on small dense models and costs on CPU convolutions (docs/performance.md)."""
    per_epoch = steps_per_epoch(dataset, batch)
    if requested is not None:
        return max(1, min(requested, per_epoch))
    convolutional = any(layer.kind.startswith("conv") for layer in analysis.layers)
    if convolutional and jax.default_backend() == "cpu":
        return 1
    example_bytes = sum(x[:1].nbytes for x in dataset.train.inputs) + dataset.train.target[:1].nbytes
    by_memory = MAX_CHUNK_BYTES // max(example_bytes * batch, 1)
    largest = int(max(1, min(MAX_FUSE, per_epoch, by_memory)))
    # A K that divides the epoch leaves no remainder to run one step at a time (a second compilation)
    dividing = next(k for k in range(largest, 0, -1) if per_epoch % k == 0)
    return dividing if dividing * 2 > largest else largest


def run_training(steps: Steps, state: TrainState | PendingState, dataset: Dataset, plan: Plan, *, log: RunLog,
                 checkpoints: Checkpoints | None = None, resumed: Restored | None = None,
                 reporter: Reporter | None = None, placement: Placement | None = None,
                 describe: Callable[[float], str] = examples_per_second,
                 programs: ProgramCache | None = None) -> RunResult:
    """`state`: the state to start from, or a fresh one still being made (the first chunk's and the evaluation
    steps compile meanwhile); `placement`: the devices to split batches over (default: the default device);
    `describe`: examples/s as the progress shows it (`Throughput.line`: tokens/s and MFU too); `programs`: where
    compiled steps are kept between runs (default: compiled for this run alone)."""
    reporter = reporter or PlainReporter()
    per_epoch = steps_per_epoch(dataset, plan.batch)
    record = resumed.record if resumed else {}
    position: int = record.get("position", 0)
    epoch_losses: list[float] = list(record.get("epoch_losses", []))
    best = Monitor(**record["best"]) if "best" in record else Monitor(plan.best)
    early = Monitor(**record["early"]) if "early" in record else Monitor(plan.early, plan.min_delta)
    result = RunResult(state, steps=position)
    reporter.start(plan.epochs, per_epoch, plan.batch, done=position, describe=describe)
    saver = _Saver(checkpoints, position) if checkpoints is not None else None
    stage = _Stager(dataset, placement, plan, position)
    programs = programs or ProgramCache(None)
    update = _Updates(steps, programs)
    fuse_evaluation = _evaluation_fuse(dataset, plan.batch, plan.fuse)
    compiling = _EarlyEvaluation(steps, state, dataset, plan.batch, fuse_evaluation, placement, programs)
    compiling.start()
    validation_step: Callable[..., Any] | None = None
    timed_until = 0.0  # the end of the last epoch's validation: the run's final save is not training time

    epoch_chunks = chunks(per_epoch, plan.fuse)
    ahead: Batch | None = None  # the next epoch's first chunk, staged while the epoch's last one ran
    with _interrupts() as interrupted, closing(stage):
        for epoch in range(position // per_epoch + 1, plan.epochs + 1):
            offset = position - (epoch - 1) * per_epoch
            todo = [chunk for chunk in epoch_chunks if chunk.start >= offset]
            pending: tuple[jax.Array, jax.Array, int] | None = None
            # `todo` is never empty: a run stops and saves only at a chunk's end
            staged = ahead if ahead is not None else stage(todo[0], epoch)
            for number, chunk in enumerate(todo):
                result.state, losses = update(result.state, staged, chunk.size)
                # The next chunk is gathered and sent while the one just dispatched runs; after the epoch's last, the
                # next epoch's first (not after the validation pass, with the device idle).
                if number + 1 < len(todo):
                    staged = stage(todo[number + 1], epoch)
                elif epoch < plan.epochs:
                    ahead = stage(epoch_chunks[0], epoch + 1)
                if pending is not None:
                    epoch_losses += _host_losses(*pending)
                pending = (*losses, position + 1)
                position += chunk.size
                if result.first_step_at is None:
                    jax.block_until_ready(losses)
                    result.first_step_at, started, timed_from = time.time(), time.perf_counter(), position
                    if checkpoints is not None:
                        checkpoints.import_early()
                reporter.advance(chunk.size)
                mid_epoch = position % per_epoch != 0
                due = saver is not None and saver.due_every(position, plan.every)
                if mid_epoch and (due or interrupted()):
                    epoch_losses += _host_losses(*pending)
                    pending = None
                    if saver is not None:
                        saver.save(result.state, _record(position, epoch_losses, best, early, plan))
                    if interrupted():
                        raise Interrupted(position)
            if pending is not None:
                epoch_losses += _host_losses(*pending)
            train = {"loss": float(np.mean(epoch_losses))}
            if validation_step is None:  # compilation, like the first dispatch's: not training time
                waited = time.perf_counter()
                validation_step = compiling.join("validation")
                started += time.perf_counter() - waited
            validation = evaluate(steps, result.state, dataset, "validation", plan.batch, fuse_evaluation,
                                  placement, validation_step)
            log.epoch(epoch, position, "train", train)
            log.epoch(epoch, position, "validation", validation)
            timed_until = time.perf_counter()
            shown = ", ".join(f"{name} {value:.4f}" for name, value in validation.items())
            timed = position - timed_from  # the speed so far, the first dispatch (compilation) left out
            speed = f"; {describe(timed * plan.batch / (timed_until - started))}" if timed else ""
            reporter.epoch(f"epoch {epoch}/{plan.epochs}: train loss {train['loss']:.4f}; validation {shown}{speed}")
            epoch_losses = []
            improved = best.update(validation, epoch)
            early.update(validation, epoch)
            result.stopped_early = plan.patience is not None and early.stale >= plan.patience
            result.epochs = epoch
            if saver is not None:
                record = _record(position, epoch_losses, best, early, plan)
                if improved:
                    saver.pending_best = (snapshot(result.state), record)
                due = saver.due_at_epoch_end(position, plan.every)
                if due or epoch == plan.epochs or result.stopped_early or interrupted():
                    saver.save(result.state, record)
            if interrupted():
                raise Interrupted(position)
            if result.stopped_early:
                reporter.message(f"early stopping after epoch {epoch}: validation {early.name} has not improved "
                                 f"for {plural(early.stale, 'epoch')} "
                                 f"(best {early.best:.4f} at epoch {early.best_epoch})")
                break
    reporter.close()
    result.state = ready(result.state)  # a run with no steps left to take has not waited for it
    result.steps = position
    if result.first_step_at is not None:
        result.train_seconds = timed_until - started
        result.timed_steps = position - timed_from
    result.test = evaluate(steps, result.state, dataset, "test", plan.batch, fuse_evaluation, placement,
                           compiling.join("test"))
    return result


def _record(position: int, epoch_losses: list[float], best: Monitor, early: Monitor, plan: Plan) -> dict[str, Any]:
    """A checkpoint's record: where the loop is, so that a resumed run continues exactly."""
    return {"position": position, "epoch_losses": list(epoch_losses), "best": asdict(best),
            "early": asdict(early), "fuse": plan.fuse, "environment": plan.environment,
            "statistics": plan.statistics}


class _Saver:
    """When and what the loop saves. A new best waits on the host for the next save of the latest, and is
    written first: best/ always holds the best that the latest checkpoint's record names."""

    def __init__(self, checkpoints: Checkpoints, position: int) -> None:
        self.checkpoints = checkpoints
        self.last_saved, self.saved_at = position, time.perf_counter()
        self.pending_best: tuple[Stored, dict[str, Any]] | None = None

    def due_every(self, position: int, every: int | None) -> bool:
        """`checkpoint.every` steps have passed since the last save."""
        return every is not None and position // every > self.last_saved // every

    def due_at_epoch_end(self, position: int, every: int | None) -> bool:
        """Without `checkpoint.every`: `SAVE_SECONDS` have passed since the last save (by the first process's clock:
        the processes save together, and a save that only some of them start leaves the others waiting at orbax's
        barrier, which a busy machine once did when one process's first epoch took longer)."""
        if every is not None:
            return self.due_every(position, every)
        due = time.perf_counter() - self.saved_at >= SAVE_SECONDS
        if jax.process_count() > 1:
            from jax.experimental import multihost_utils

            due = bool(multihost_utils.broadcast_one_to_all(np.int32(due)))
        return due

    def save(self, state: TrainState, record: dict[str, Any]) -> None:
        if self.pending_best is not None:
            self.checkpoints.save(*self.pending_best, best=True)
            self.pending_best = None
        self.checkpoints.save(state, record)
        self.last_saved, self.saved_at = record["position"], time.perf_counter()


class _Stager:
    """Puts each chunk's batches on the device(s), stacked (K, batch, ...) for the fused step, or one batch.

    The chunks come from the run's pipeline (`dslc.runtime.pipeline`), in the loop's order. A train split of
    arrays in memory (not rows read from a memory-mapped file or an image folder decoded or augmented per batch) of
    up to `RESIDENT_BYTES` on a single device is sent there once and each chunk is gathered there from the
    pipeline's row indices; otherwise the pipeline makes each chunk's host batch (in worker processes with
    `--workers`), and this sends it. On a GPU the per-step host gather and copy had held the loop to about half the
    speed of the bare step (W1, W2 and W4 in bench/gpu.py). Both ways give the same batches, bit for bit. With
    several processes, each reads only its part of every batch (`Placement.local_part`).
    """

    def __init__(self, dataset: Dataset, placement: Placement | None, plan: Plan, position: int = 0) -> None:
        self.placement = placement
        split = dataset.train
        size = sum(x.nbytes for x in split.inputs) + split.target.nbytes
        self.resident: tuple[tuple[jax.Array, ...], jax.Array] | None = None
        if split.in_memory and (placement is None or placement.size == 1) and size <= RESIDENT_BYTES:
            device = None if placement is None else placement.local_device
            self.resident = jax.device_put((split.inputs, split.target), device)
        self._gathers: dict[bool, Callable[..., Batch]] = {}
        per_epoch_steps = steps_per_epoch(dataset, plan.batch)
        per_epoch = chunks(per_epoch_steps, plan.fuse)
        part = placement.local_part(plan.batch) if placement is not None else None
        first = pipeline.first_chunk(position, per_epoch_steps, per_epoch)
        source = pipeline.ChunkSource(dataset, per_epoch, plan.epochs, first,
                                      batch=plan.batch, seed=plan.seed, part=part,
                                      rows_only=self.resident is not None)
        workers = plan.workers if self.resident is None and pipeline.workers_apply(dataset) else 0
        self._items = pipeline.items(source, workers)

    def __call__(self, chunk: Chunk, epoch: int) -> Batch:
        item = next(self._items)
        if (item.epoch, item.chunk) != (epoch, chunk):  # pragma: no cover - the loop asks for its chunks in order
            raise RuntimeError(f"the loop asked for epoch {epoch}'s chunk {chunk}; the pipeline made epoch "
                               f"{item.epoch}'s chunk {item.chunk}")
        stacked = chunk.size > 1
        if item.batch is not None:
            return _put(_host_batch(*item.batch), stacked, self.placement)
        if stacked not in self._gathers:
            sharding = None if self.placement is None else self.placement.batch_sharding(stacked)
            self._gathers[stacked] = jax.jit(_gather, out_shardings=sharding)
        rows = (item.index, item.weight)
        if self.placement is not None and self.placement.size > 1:
            rows = _put(rows, stacked, self.placement)
        # On one device the row indices go to the gather as host arrays: its call places them in C++, where a
        # `jax.device_put` first was Python work every step (docs/performance.md#per-step-host-work)
        return self._gathers[stacked](self.resident, *rows)

    def close(self) -> None:
        """Stop the pipeline's worker processes (a run that stops early leaves chunks unasked for)."""
        pipeline.close(self._items)


def _gather(resident: tuple[tuple[jax.Array, ...], jax.Array], index: jax.Array, weight: jax.Array) -> Batch:
    inputs, target = resident
    return Batch(tuple(jnp.take(x, index, axis=0, mode="clip") for x in inputs),
                 jnp.take(target, index, axis=0, mode="clip"), weight)


def _host_batch(inputs: Sequence[np.ndarray], target: np.ndarray, weight: np.ndarray) -> Batch:
    """A batch of host arrays, typed as the device batch that `_put` makes of it."""
    return Batch(*cast(Any, (tuple(inputs), target, weight)))


def _put(batch: Any, stacked: bool, placement: Placement | None) -> Any:
    return placement.batch(batch, stacked) if placement is not None else jax.device_put(batch)


class _Updates:
    """Runs a chunk: the train step for one batch, the fused step for K, each compiled once per chunk size (or loaded
    from the program cache) and then called as an executable (`jax.jit`'s cache does not hold those)."""

    def __init__(self, steps: Steps, programs: ProgramCache) -> None:
        self.steps, self.programs = steps, programs
        self.by_size: dict[int, Callable[..., Any]] = {}

    def __call__(self, state: TrainState | PendingState, batch: Batch,
                 size: int) -> tuple[TrainState, tuple[jax.Array, jax.Array]]:
        """The state after the chunk, and its steps' losses and whether each was applied (False: the guard found
        it non-finite). A pending state is waited for once the chunk's program is compiled."""
        program = self.by_size.get(size)
        if program is None:
            name, step = ("train", self.steps.train) if size == 1 else ("multi", self.steps.multi)
            program = self.by_size[size] = self.programs.compiled(name, step, abstract_state(state), batch,
                                                                  donate=True)
        after, metrics = program(ready(state), batch)
        return after, (metrics["loss"], metrics["finite"])


def _host_losses(losses: jax.Array, applied: jax.Array, first_step: int) -> list[float]:
    """A chunk's losses on the host; raises NonFiniteError at its first step that the guard did not apply. (The two
    arrays are read as they are: combining them on the device was one more dispatch every step.)"""
    finite = np.atleast_1d(np.asarray(applied))
    if not finite.all():
        raise NonFiniteError(first_step + int(np.argmin(finite)))
    return np.atleast_1d(np.asarray(losses)).tolist()


@contextmanager
def _interrupts() -> Iterator[Callable[[], bool]]:
    """SIGINT and SIGTERM ask the loop to save and stop between chunks; a second SIGINT stops at once."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    caught: list[int] = []

    def handler(signum: int, frame: object) -> None:
        if caught and signum == signal.SIGINT:
            raise KeyboardInterrupt
        caught.append(signum)

    previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: bool(caught)
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def evaluate(steps: Steps, state: TrainState, dataset: Dataset, split: str, batch_size: int,
             fuse: int = 1, placement: Placement | None = None,
             compiled: Callable[..., Any] | None = None) -> dict[str, float]:
    """Metrics over a whole split: per-batch weighted means, combined by the batches' weights (perplexity, the exp
    of a mean, by a weighted geometric mean: the exp of the split's mean cross-entropy).

    With `fuse` > 1, batches go `fuse` at a time through one `eval_multi` call; the batch count is
    padded with weight-0 batches to a multiple of `fuse`, so every call has the same shape. `compiled`: that step
    already compiled for this split's shapes.
    """
    step, index, weight = _evaluation_calls(steps, dataset, split, batch_size, fuse)
    stacked = step is steps.eval_multi
    call = compiled or step
    per_call = [call(state, _evaluation_batch(dataset, split, rows, weights, stacked, placement))
                for rows, weights in zip(index, weight, strict=True)]
    totals: dict[str, float] = {}
    batch_weights = weight.reshape(-1, batch_size).sum(axis=1)
    for name in per_call[0] if per_call else ():
        values = np.concatenate([np.atleast_1d(np.asarray(metrics[name])) for metrics in per_call])
        values = values.astype(np.float64)
        if name in GEOMETRIC_METRICS:
            values = np.log(values)  # a padding batch (weight 0) reports exp(0)
        totals[name] = float((values * batch_weights).sum())  # one transfer per call
    means = {name: total / max(float(batch_weights.sum()), 1e-12) for name, total in totals.items()}
    return {name: float(np.exp(mean)) if name in GEOMETRIC_METRICS else mean for name, mean in means.items()}


def _evaluation_calls(steps: Steps, dataset: Dataset, split: str, batch_size: int,
                      fuse: int) -> tuple[Any, np.ndarray, np.ndarray]:
    """The step `evaluate` calls (jitted: `.lower` compiles it ahead), and the example indices and weights of
    each call."""
    index, weight = dataset.batch_indices(split, batch_size, 0, 0, shuffle=False)
    if fuse <= 1 or len(index) <= 1:
        return steps.eval, index, weight
    fuse = min(fuse, len(index))
    extra = -len(index) % fuse
    index = np.concatenate([index, np.zeros((extra, batch_size), index.dtype)])
    weight = np.concatenate([weight, np.zeros((extra, batch_size), weight.dtype)])
    return steps.eval_multi, index.reshape(-1, fuse, batch_size), weight.reshape(-1, fuse, batch_size)


def _evaluation_fuse(dataset: Dataset, batch_size: int, fuse: int) -> int:
    """The batches an evaluation call takes in training: at most as many as the smaller of the validation and test
    splits holds, so both passes call one compiled program. A split of fewer batches than `fuse` used to get a
    program of its own (on the digits MLP, 3 and 6 batches: two compilations of 0.5 s, in the job's wall time),
    and the larger split makes more calls instead, with little or no padding."""
    counts = [math.ceil(len(getattr(dataset, split)) / batch_size) for split in _EarlyEvaluation.SPLITS]
    return min(fuse, *(count for count in counts if count))


def _evaluation_batch(dataset: Dataset, split: str, rows: np.ndarray, weights: np.ndarray, stacked: bool,
                      placement: Placement | None) -> Batch:
    if placement is not None and jax.process_count() > 1:  # each process reads its part of the batch
        part = slice(*placement.local_part(rows.shape[-1]))
        rows, weights = rows[..., part], weights[..., part]
    inputs, target = dataset.gather(split, rows)
    return _put(_host_batch(inputs, target, weights), stacked, placement)


def _lowest_priority() -> None:
    """Lower the calling thread's scheduling priority to the lowest (nice 19); Linux gives each thread its own.
    Elsewhere (or where it is refused) nothing changes."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):
        pass


class _EarlyEvaluation:
    """The evaluation steps of the validation and test splits, compiled in a background thread at the lowest
    scheduling priority while the train step compiles and training goes on: it takes only the CPU time they leave
    (XLA compiles on one core; started after the first step at normal priority instead, it slowed W2's steps by
    about 8 % on 2 cores, and beside the train step's compilation it delayed the first step). Where the state is
    still being made (`dslc.runtime.pending`), the thread starts once it is: the initialisation takes the other
    core first, and the evaluation steps' tracing would otherwise compete with the train step's for the interpreter
    lock (on the small transformer it tripled the train step's lowering).

    Otherwise the first validation pass compiles its step inside the loop (on a GPU, where a step takes
    milliseconds, that was most of a short run's overhead); the test pass after the last epoch calls the same
    program (`_evaluation_fuse`). The loop calls the executables compiled here: `jax.jit`'s own cache does not hold
    what `.lower(...).compile()` made, so calling the jitted step would compile it again.
    """

    SPLITS = ("validation", "test")

    def __init__(self, steps: Steps, state: TrainState | PendingState, dataset: Dataset, batch_size: int, fuse: int,
                 placement: Placement | None, programs: ProgramCache) -> None:
        # Shapes and shardings only: the loop donates the state's buffers while this thread traces.
        abstract = abstract_state(state)
        calls = {}
        for split in self.SPLITS:
            if len(getattr(dataset, split)):
                step, index, weight = _evaluation_calls(steps, dataset, split, batch_size, fuse)
                calls[split] = step, _evaluation_batch(dataset, split, index[0], weight[0],
                                                       step is steps.eval_multi, placement)
        self.compiled: dict[str, Callable[..., Any]] = {}

        def compile_steps() -> None:
            _lowest_priority()
            if isinstance(state, PendingState):  # its thread compiles the initialisation: then the other core is free
                state.wait()
            made: dict[tuple[Any, ...], Callable[..., Any]] = {}
            for split, (step, batch) in calls.items():
                key = (id(step), *(leaf.shape for leaf in jax.tree.leaves(batch)))
                name = "eval_multi" if step is steps.eval_multi else "eval"
                try:
                    self.compiled[split] = made.get(key) or programs.compiled(name, step, abstract, batch)
                except Exception:  # the loop's own call compiles it again and reports the error
                    return
                made[key] = self.compiled[split]

        self.thread = threading.Thread(target=compile_steps, name="dslc-compile-evaluation", daemon=True)

    def start(self) -> None:
        if self.thread.ident is None:
            self.thread.start()

    def join(self, split: str) -> Callable[..., Any] | None:
        """The split's compiled evaluation step, once compiled (None if compiling it failed)."""
        self.start()
        self.thread.join()
        return self.compiled.get(split)
