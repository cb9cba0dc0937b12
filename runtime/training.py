"""Training as a function: `train_and_evaluate` is what `dslc train` and `dslc.api.train` run.

Every rejection that needs no JAX (budgets, shapes, training checks, data checks, the work
directory's guard, a finished run's `--resume`) happens before `import jax`, which alone costs
about 2 s and 180 MB.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from dslc.runtime.progress import PlainReporter, Reporter, plural
from dslc.spec.errors import DslcError, DslcErrors
from dslc.spec.ir import Train
from dslc.spec.limits import DEFAULT_LIMITS, Limits
from dslc.spec.load import LoadedSpec


@dataclass(frozen=True)
class TrainOptions:
    """What the `dslc train` flags override or choose; None leaves the spec's value."""

    epochs: int | None = None
    batch: int | None = None
    lr: float | None = None
    seed: int | None = None
    device: str = "auto"
    workdir: Path | None = None  # default: runs/<model name>
    resume: bool = False
    overwrite: bool = False
    devices: int | None = 1  # None: every device of the platform
    shard_params: int = 1
    fuse: int | None = None
    workers: int = 0  # processes that make the train batches (runtime/pipeline.py)
    compile_cache: str | None = None
    limits: Limits = DEFAULT_LIMITS
    device_memory: int | None = None  # bytes: a step planned to need more is E616 before anything compiles
    conv_lowering: str | None = None  # auto, xla, im2col (dslc.compiler.conv_lowering); None: $DSLC_CONV_LOWERING


@dataclass
class Trained:
    """A finished (or already finished) run: where it is, what it did, its final metrics."""

    workdir: Path
    summary: dict[str, Any]  # run.json's content
    rows: dict[str, dict[str, float]] = field(default_factory=dict)  # the last epoch's train/validation, test
    state: Any = None  # the trained TrainState (None when a resume found nothing left to do)
    nothing_left: bool = False


# Where the data's targets were normalised, what the reported numbers are in
TARGET_UNITS = ("targets normalised (normalize_target): the loss is in standard deviations of the train split's "
                "targets, the metrics in the data's units")


class NothingLeft(Exception):
    """`--resume` of a run that already finished: nothing is changed."""


def train_overrides(options: TrainOptions, train: Train) -> dict[str, object]:
    update: dict[str, object] = {}
    if options.batch is not None:
        update["batch"] = options.batch
    if options.epochs is not None:
        update.update(epochs=options.epochs, steps=None)
    if options.lr is not None:
        optimizer: BaseModel = train.optimizer  # one of the vocabulary's optimizer models
        update["optimizer"] = optimizer.model_copy(update={"lr": options.lr})
    return update


def load_spec(spec: str | Path | LoadedSpec, options: TrainOptions) -> tuple[LoadedSpec, Train]:
    from dslc.runtime.session import load_for_training

    return load_for_training(spec, options.limits,
                             lambda train: train_overrides(options, train))


def train_and_evaluate(spec: str | Path | LoadedSpec, options: TrainOptions = TrainOptions(), *,
                       reporter: Reporter | None = None, start_processes: Any = None) -> Trained:
    """Train the spec's model as its train section says (with `options`), then evaluate it on the test split.

    Raises `DslcErrors` (an invalid spec, data or work directory), `NonFiniteError` and `Interrupted`
    (from `dslc.runtime.loop`). `start_processes`: called once everything is checked, before the
    devices are chosen (the command line's jax.distributed setup).
    """
    from dslc.runtime.checkpoint import WorkDir, canonical_ir, run_identity
    from dslc.runtime.session import check_for_training, steps_per_epoch

    started = time.time()
    loaded, train = load_spec(spec, options)
    seed = options.seed if options.seed is not None else train.seed
    workdir = WorkDir(options.workdir or Path("runs") / loaded.spec.model.name)
    identity, ir = run_identity(loaded.spec, train, seed), canonical_ir(loaded.spec, train)
    workdir.prepare(identity, ir, resume=options.resume, overwrite=options.overwrite, write=False)  # checks only
    if options.overwrite and not options.resume:
        workdir.forget_data()  # a text tokenizer and token cache are trained again, from the spec as it is now
    # a text tokenizer and token cache are made in the work directory before it becomes a run's (checkpoint.DATA_FILES)
    prepared = check_for_training(loaded, train, seed, workdir.path, options.workers)
    if options.device_memory is not None:
        from dslc.runtime.memory_plan import memory_error

        error = memory_error(loaded, prepared.analysis, train, options.device_memory, options.devices,
                             options.shard_params)
        if error is not None:
            raise DslcErrors([error], loaded.source.text)
    per_epoch = steps_per_epoch(prepared.dataset, train.batch)
    epochs = options.epochs or train.epochs or math.ceil((train.steps or 1) / per_epoch)
    if options.resume:
        finished = finished_run(workdir.path, workdir.latest_step(), epochs * per_epoch)
        if finished is not None:
            return Trained(workdir.path, finished, nothing_left=True)
    if start_processes is not None:
        start_processes()
    from dslc.runtime.session import open_session

    session = open_session(loaded, train, seed, options.device, options.compile_cache,  # imports JAX
                           devices=options.devices, shard_params=options.shard_params, prepared=prepared,
                           initial_weights=not (options.resume and workdir.latest_step() is not None),
                           conv_lowering=options.conv_lowering)
    return _run(session, workdir, identity, ir, epochs, options, reporter or PlainReporter(), started)


def _run(session: Any, workdir: Any, identity: dict[str, Any], ir: dict[str, Any], epochs: int,
         options: TrainOptions, reporter: Reporter, started: float) -> Trained:
    """The checked run on its opened session: the work directory written, the loop run, run.json written."""
    import jax
    from jax.experimental import multihost_utils

    from dslc.runtime.checkpoint import Checkpoints, environment, write_error
    from dslc.runtime.loop import Interrupted, Plan, fuse_factor, run_training
    from dslc.runtime.parallel import is_primary
    from dslc.runtime.pipeline import workers_apply
    from dslc.runtime.runlog import RunLog
    from dslc.runtime.throughput import Throughput

    primary, train = is_primary(), session.train
    throughput = Throughput.of(session.analysis, session.device.device_kind, train.precision, session.placement.size)
    if not primary:
        reporter = devnull_reporter()
    # Every process checked the folder before the processes met (`train_and_evaluate`); checking again here
    # would race the primary's writes (a folder with spec.json but no marker yet reads as someone else's: E801).
    if primary:
        workdir.prepare(identity, ir, resume=options.resume, overwrite=options.overwrite, write=True)
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices("dslc: work directory ready")
    checkpoints = Checkpoints(workdir, keep=train.checkpoint.keep if train.checkpoint else 3)
    log = None
    try:
        with jax.default_device(session.device):
            resumed = checkpoints.restore(session.state) if options.resume else None
            record = resumed.record if resumed else {}
            env = environment()
            if resumed and record.get("environment") != env:
                reporter.message("dslc: note: the checkpoint was written with other versions, backend or flags; "
                                 "the resumed run is not promised to match an uninterrupted one bit for bit")
            fuse = record.get("fuse") or fuse_factor(options.fuse, session.analysis, session.dataset, train.batch)
            plan = Plan.of(train, epochs=epochs, seed=session.seed, fuse=fuse, environment=env,
                           statistics=session.dataset.statistics.to_json(), workers=options.workers)
            if options.workers and not workers_apply(session.dataset):
                reporter.message(f"dslc: note: --workers applies to data read or decoded per batch (image folders, "
                                 f".npy files, text); data '{train.data.kind if train.data else 'none'}' is held in "
                                 "memory and gathered by the training loop")
            reporter.message(_starting(session, plan, resumed.record["position"] if resumed else None))
            log = RunLog(workdir.path, resumed_at=resumed.record["position"] if resumed else None, write=primary)
            try:
                result = run_training(session.steps, resumed.state if resumed else session.fresh, session.dataset,
                                      plan, log=log, checkpoints=checkpoints, resumed=resumed, reporter=reporter,
                                      placement=session.placement, describe=throughput.line,
                                      programs=session.programs)
            except Interrupted as stop:
                stop.workdir = workdir.path
                raise
        last = {record["split"]: record for record in log.records if record["epoch"] == result.epochs}
        rows = {split: {name: value for name, value in row.items() if name not in ("epoch", "step", "split")}
                for split, row in (("train", last.get("train", {})), ("validation", last.get("validation", {})),
                                   ("test", result.test))}
        speed = (result.timed_steps * train.batch / result.train_seconds) if result.train_seconds else None
        summary = {"steps": result.steps, "epochs": result.epochs, "stopped_early": result.stopped_early,
                   "parameters_sha256": fingerprint(result.state),
                   "test": result.test, "train_seconds": result.train_seconds, "timed_steps": result.timed_steps,
                   "fuse": plan.fuse,
                   "examples_per_second": speed, **throughput.summary(speed),
                   "first_step_at": result.first_step_at,
                   "time_to_first_step": (result.first_step_at - started) if result.first_step_at else None,
                   "programs_loaded": sorted(session.programs.loaded)}
        log.summary(summary)
    except OSError as exc:  # metrics.jsonl, TensorBoard events, run.json: a full disk, a folder gone read-only
        raise write_error(workdir.path, exc, workdir.latest_step()) from None
    finally:
        checkpoints.close()
        if log is not None:
            log.close()
    return Trained(workdir.path, summary, rows, result.state)


def _starting(session: Any, plan: Any, resumed_at: int | None) -> str:
    from dslc.runtime.pending import abstract_state
    from dslc.runtime.session import steps_per_epoch

    where = f"resuming at step {resumed_at} of " if resumed_at is not None else ""
    per_epoch = steps_per_epoch(session.dataset, plan.batch)
    return (f"{where}training '{session.loaded.spec.model.name}' "
            f"({plural(session.analysis.totals.trainable, 'trainable parameter')}) on "
            f"{_devices(session.placement, abstract_state(session.fresh))}: "
            f"{plural(len(session.dataset.train), 'training example')}, "
            f"batch {plan.batch}, {plural(plan.epochs, 'epoch')} of {plural(per_epoch, 'step')}, "
            f"{plan.fuse} per dispatch"
            + (f"\n{session.conv_lowering}" if session.conv_lowering else "")
            + (f"\n{TARGET_UNITS}" if session.dataset.statistics.target is not None else ""))


def fingerprint(state: Any) -> str:
    """sha256 of the trained parameters' bytes: equal on every process of a run, and across equal runs."""
    import hashlib

    import jax
    import numpy as np

    from dslc.runtime.parallel import to_host

    digest = hashlib.sha256()
    for leaf in jax.tree.leaves(to_host(state.params)):
        digest.update(np.ascontiguousarray(leaf).tobytes())
    return digest.hexdigest()


def _devices(placement: Any, state: Any) -> str:
    """E.g. `cpu (8 devices, data-parallel, the state (336.5 KiB) split 2 ways: 168.3 KiB per device)`."""
    from dslc.compiler.analysis.render import byte_size
    from dslc.runtime.parallel import state_bytes

    if placement.size == 1:
        return str(placement.platform)
    if placement.shards == 1:
        return f"{placement.platform} ({placement.size} devices, data-parallel)"
    total, per_device = state_bytes(state)
    return (f"{placement.platform} ({placement.size} devices, data-parallel, the state ({byte_size(total)}) split "
            f"{placement.shards} ways: {byte_size(per_device)} per device)")


@dataclass
class Evaluation:
    """A checkpoint's metrics on one split of the data it was trained with."""

    checkpoint: Path | None  # None: the spec's initial weights (`dslc eval --initial`)
    step: int
    split: str
    examples: int
    metrics: dict[str, float]
    loss_normalized: bool = False  # the loss is in normalised target units (`TARGET_UNITS`)


def evaluate_checkpoint(spec: str | Path | LoadedSpec, checkpoint: Path | None = None, split: str = "test", *,
                        device: str = "auto", compile_cache: str | None = None,
                        limits: Limits = DEFAULT_LIMITS, initial: bool = False) -> Evaluation:
    """`dslc eval`: restore a checkpoint (default: the spec's run's best, else its latest) and evaluate it; with
    `initial`, the spec's model as it starts training instead (its `train.init` weights; checkpoint None, step 0).

    An empty split is E807, found before `import jax`.
    """
    from dslc.runtime.session import Prepared, check_for_training, load_for_training, open_session, open_trained

    def has_examples(prepared: Prepared) -> None:
        if not len(prepared.dataset.split(split)):
            raise DslcErrors([DslcError("E807", f"the {split} split holds no examples: nothing to evaluate",
                                        hint="evaluate another split with --split, or give the data section "
                                             "a share for it", stage="data")])

    if initial:
        loaded, train = load_for_training(spec, limits)
        # a text tokenizer trained by dslc lives in the run's work directory: the default one, as `dslc train`'s
        prepared = check_for_training(loaded, train, train.seed, Path("runs") / loaded.spec.model.name)
        has_examples(prepared)
        session = open_session(loaded, train, train.seed, device, compile_cache, prepared=prepared,
                               initial_weights=True)
        state, folder, step, fuse = session.state, None, 0, None
    else:
        session, restored = open_trained(spec, checkpoint, limits, device, compile_cache, check=has_examples)
        state, folder, step, fuse = restored.state, Path(restored.folder), restored.step, restored.record.get("fuse")
    import jax

    from dslc.runtime.loop import evaluate, fuse_factor

    fuse = fuse or fuse_factor(None, session.analysis, session.dataset, session.train.batch)  # batched as in training
    with jax.default_device(session.device):
        metrics = evaluate(session.steps, state, session.dataset, split, session.train.batch, fuse, session.placement)
    return Evaluation(folder, step, split, len(session.dataset.split(split)), metrics,
                      session.dataset.statistics.target is not None)


def finished_run(workdir: Path, latest: int | None, planned_steps: int) -> dict[str, Any] | None:
    """run.json of a run whose last checkpoint is its end (all `planned_steps` run, or stopped early)."""
    from dslc.runtime.runlog import SUMMARY

    try:
        summary = json.loads((workdir / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(summary, dict) or latest is None or summary.get("steps") != latest:
        return None
    return summary if summary.get("stopped_early") or latest >= planned_steps else None


def nothing_left_message(trained: Trained) -> str:
    epochs = int(trained.summary.get("epochs", 0))
    how = (f"stopped early after {plural(epochs, 'epoch')}" if trained.summary.get("stopped_early")
           else f"finished its {plural(epochs, 'epoch')}")
    return f"dslc: nothing left to do: {trained.workdir} {how}; nothing was changed"


def results_table(rows: dict[str, dict[str, float]]) -> str:
    """The final table: one row per split, one column per metric, each column as wide as its name."""
    names = list(dict.fromkeys(name for row in rows.values() for name in row))
    widths = [max(len(name), 9) + 2 for name in names]
    lines = [f"{'':<12}" + "".join(f"{name:>{width}}" for name, width in zip(names, widths, strict=True))]
    for split, row in rows.items():
        cells = "".join(f"{row[name]:>{width}.4f}" if name in row else " " * width
                        for name, width in zip(names, widths, strict=True))
        lines.append(f"{split:<12}{cells}".rstrip())
    return "\n".join(lines)


def outcome_line(trained: Trained) -> str:
    summary = trained.summary
    how = "stopped early" if summary["stopped_early"] else "done"
    speed, tokens, mfu = summary.get("examples_per_second"), summary.get("tokens_per_second"), summary.get("mfu")
    shown = (f", {speed:,.0f} examples/s" + (f", {tokens:,.0f} tokens/s" if tokens else "")
             + (f", MFU {mfu:.1%}" if isinstance(mfu, float) else f", MFU {mfu}" if mfu else "")) if speed else ""
    return (f"{how}: {plural(summary['steps'], 'step')}, {plural(summary['epochs'], 'epoch')}"
            + shown + f"; checkpoints, metrics and events in "
            f"{trained.workdir}\nparameters sha256 {summary['parameters_sha256']}")


def devnull_reporter() -> Reporter:
    return PlainReporter(open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the process
