"""`dslc train SPEC`: train the spec's model on its data, with checkpoints, resume and early stopping."""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

from dslc.runtime.options import add_device_option, add_limit_options, add_session_options, limits_from, positive

EXIT_NON_FINITE, EXIT_INTERRUPTED = 3, 130


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("train", help="train the model on the spec's data (checkpoints and metrics in --workdir)",
                            description="Train SPEC's model as its train section says; flags override it. "
                                        "Exit 0: trained; 2: invalid spec, data or work directory; 3: the loss "
                                        "became NaN/Inf; 130: interrupted (a checkpoint was saved first).")
    parser.add_argument("file", metavar="SPEC")
    parser.add_argument("--epochs", type=positive(int), help="epochs (overrides the spec's epochs or steps)")
    parser.add_argument("--batch", type=positive(int), help="batch size")
    parser.add_argument("--lr", type=positive(float), help="learning rate (a constant; replaces the spec's schedule)")
    parser.add_argument("--seed", type=int, help="seed for initialisation, data split and shuffling")
    add_device_option(parser, "where to train (default: a GPU or TPU if present, else the CPU)")
    parser.add_argument("--workdir", type=Path,
                        help="checkpoints, metrics.jsonl, TensorBoard events, run.json (default: runs/<model name>)")
    run = parser.add_mutually_exclusive_group()
    run.add_argument("--resume", action="store_true",
                     help="continue the run in --workdir from its last checkpoint (same spec and seed)")
    run.add_argument("--overwrite", action="store_true", help="start over in a --workdir that holds an earlier run")
    parser.add_argument("--devices", type=positive(int), metavar="N",
                        help="train data-parallel on N devices of the --device platform (default: all of them; "
                             "the batch must split evenly)")
    parser.add_argument("--shard-params", type=positive(int), default=1, metavar="N",
                        help="split the parameters and optimiser state N ways over the devices, FSDP-style, for a "
                             "model that does not fit one device (default 1: a whole copy on every device; N must "
                             "divide the device count; each batch is still split over all devices)")
    group = parser.add_argument_group("several processes (jax.distributed; every process runs the same command)")
    group.add_argument("--coordinator", metavar="HOST:PORT", help="process 0's address (all processes give the same)")
    group.add_argument("--num-processes", type=positive(int), metavar="P", help="how many processes take part")
    group.add_argument("--process-id", type=int, metavar="I", help="this process's number, 0 to P-1")
    group.add_argument("--distributed", action="store_true",
                       help="join a run that a cluster launcher set up (SLURM, Open MPI, Cloud TPU, "
                            "JAX_COORDINATOR_ADDRESS): JAX reads the rest from the environment")
    parser.add_argument("--fuse", type=positive(int), metavar="K",
                        help="train steps per dispatch (default: chosen per model)")
    add_session_options(parser)
    add_limit_options(parser)
    parser.set_defaults(run=run_command)


def _overrides(args: argparse.Namespace, train) -> dict[str, object]:
    update: dict[str, object] = {}
    if args.batch is not None:
        update["batch"] = args.batch
    if args.epochs is not None:
        update.update(epochs=args.epochs, steps=None)
    if args.lr is not None:
        update["optimizer"] = train.optimizer.model_copy(update={"lr": args.lr})
    return update


def run_command(args: argparse.Namespace) -> int:
    started = time.time()
    from dslc.runtime.session import load_for_training, open_session

    loaded, train = load_for_training(args.file, limits_from(args), lambda train: _overrides(args, train))
    seed = args.seed if args.seed is not None else train.seed
    _start_processes(args)
    session = open_session(loaded, train, seed, args.device, args.compile_cache,  # imports JAX once all is valid
                           devices=args.devices, shard_params=args.shard_params)

    import jax
    from jax.experimental import multihost_utils

    from dslc.runtime.checkpoint import Checkpoints, WorkDir, canonical_ir, environment, run_identity, write_error
    from dslc.runtime.loop import Interrupted, NonFiniteError, Plan, fuse_factor, run_training
    from dslc.runtime.parallel import is_primary
    from dslc.runtime.progress import PlainReporter, reporter_for
    from dslc.runtime.runlog import RunLog

    primary = is_primary()
    workdir = WorkDir(args.workdir or Path("runs") / loaded.spec.model.name)
    workdir.prepare(run_identity(loaded.spec, train, seed), canonical_ir(loaded.spec, train),
                    resume=args.resume, overwrite=args.overwrite, write=primary)
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices("dslc: work directory ready")
    per_epoch = session.steps_per_epoch
    epochs = args.epochs or train.epochs or math.ceil(train.steps / per_epoch)
    reporter = reporter_for() if primary else PlainReporter(open(os.devnull, "w"))  # noqa: SIM115
    checkpoints = Checkpoints(workdir, keep=train.checkpoint.keep if train.checkpoint else 3)
    log = None
    try:
        with jax.default_device(session.device):
            resumed = checkpoints.restore(session.state) if args.resume else None
            record = resumed.record if resumed else {}
            env = environment()
            if resumed and record.get("environment") != env:
                reporter.message("dslc: note: the checkpoint was written with other versions, backend or flags; "
                                 "the resumed run is not promised to match an uninterrupted one bit for bit")
            plan = Plan(epochs=epochs, batch=train.batch, seed=seed,
                        fuse=record.get("fuse") or fuse_factor(args.fuse, session.analysis, session.dataset,
                                                                train.batch),
                        every=train.checkpoint.every if train.checkpoint else None,
                        best=(train.checkpoint.best if train.checkpoint else None) or "loss",
                        patience=train.early_stopping.patience if train.early_stopping else None,
                        early=train.early_stopping.monitor if train.early_stopping else "loss",
                        min_delta=train.early_stopping.min_delta if train.early_stopping else 0.0,
                        environment=env)
            where = f"resuming at step {resumed.record['position']} of " if resumed else ""
            reporter.message(f"{where}training '{loaded.spec.model.name}' "
                             f"({session.analysis.totals.trainable:,} trainable parameters) on "
                             f"{_devices(session.placement, session.state)}: "
                             f"{len(session.dataset.train):,} training examples, "
                             f"batch {train.batch}, {epochs} epochs of {per_epoch} steps, {plan.fuse} per dispatch")
            log = RunLog(workdir.path, resumed_at=resumed.record["position"] if resumed else None, write=primary)
            try:
                result = run_training(session.steps, resumed.state if resumed else session.state, session.dataset,
                                      plan, log=log, checkpoints=checkpoints, resumed=resumed, reporter=reporter,
                                      placement=session.placement)
            except NonFiniteError as error:
                reporter.close()
                reporter.message(f"dslc: {error}")
                return EXIT_NON_FINITE
            except Interrupted as stop:
                reporter.close()
                checkpoints.close()
                reporter.message(f"dslc: {stop}; checkpoint saved in {workdir.path / 'checkpoints'}; continue with: "
                                 f"dslc train {args.file} --resume --workdir {workdir.path}")
                return EXIT_INTERRUPTED
    except OSError as exc:  # metrics.jsonl, TensorBoard events: a full disk, a folder gone read-only
        raise write_error(workdir.path, exc, workdir.latest_step()) from None
    finally:
        checkpoints.close()
        if log is not None:
            log.close()
    if not primary:
        print(f"process {jax.process_index()}: parameters sha256 {_fingerprint(result.state)}")
        return 0
    try:
        _summarise(log, result, workdir.path, train.batch, plan.fuse, started)
    except OSError as exc:
        raise write_error(workdir.path, exc, workdir.latest_step()) from None
    return 0


def _start_processes(args: argparse.Namespace) -> None:
    from dslc.runtime.parallel import start_processes
    from dslc.spec.errors import DslcError, DslcErrors

    given = [args.coordinator, args.num_processes, args.process_id]
    if any(value is not None for value in given) and None in given:
        raise DslcErrors([DslcError("E613", "--coordinator, --num-processes and --process-id go together",
                                    stage="device", hint="give all three on every process")])
    if args.process_id is not None and not 0 <= args.process_id < args.num_processes:
        raise DslcErrors([DslcError("E613", f"--process-id {args.process_id} is not in 0..{args.num_processes - 1}",
                                    stage="device")])
    start_processes(args.coordinator, args.num_processes, args.process_id, args.distributed)


def _fingerprint(state) -> str:
    """sha256 of the trained parameters' bytes: equal on every process of a run, and across equal runs."""
    import hashlib

    import jax
    import numpy as np

    from dslc.runtime.parallel import to_host

    digest = hashlib.sha256()
    for leaf in jax.tree.leaves(to_host(state.params)):
        digest.update(np.ascontiguousarray(leaf).tobytes())
    return digest.hexdigest()


def _devices(placement, state) -> str:
    """E.g. `cpu (8 devices, data-parallel, the state (336.5 KiB) split 2 ways: 168.3 KiB per device)`."""
    from dslc.compiler.analysis.render import byte_size
    from dslc.runtime.parallel import state_bytes

    if placement.size == 1:
        return placement.platform
    if placement.shards == 1:
        return f"{placement.platform} ({placement.size} devices, data-parallel)"
    total, per_device = state_bytes(state)
    return (f"{placement.platform} ({placement.size} devices, data-parallel, the state ({byte_size(total)}) split "
            f"{placement.shards} ways: {byte_size(per_device)} per device)")


def _summarise(log, result, workdir: Path, batch: int, fuse: int, started: float) -> None:
    """The final table (last epoch's train and validation, the test split) and run.json."""
    last = {record["split"]: record for record in log.records if record["epoch"] == result.epochs}
    rows = {"train": last.get("train", {}), "validation": last.get("validation", {}), "test": result.test}
    names = list(dict.fromkeys(name for row in rows.values() for name in row if name not in ("epoch", "step", "split")))
    print(f"{'':<12}" + "".join(f"{name:>14}" for name in names))
    for split, row in rows.items():
        print(f"{split:<12}" + "".join(f"{row[name]:>14.4f}" if name in row else f"{'':>14}" for name in names))
    speed = (result.timed_steps * batch / result.train_seconds) if result.train_seconds else None
    how = "stopped early" if result.stopped_early else "done"
    fingerprint = _fingerprint(result.state)
    print(f"{how}: {result.steps} steps, {result.epochs} epochs"
          + (f", {speed:,.0f} examples/s" if speed else "") + f"; checkpoints, metrics and events in {workdir}")
    print(f"parameters sha256 {fingerprint}")
    log.summary({"steps": result.steps, "epochs": result.epochs, "stopped_early": result.stopped_early,
                 "parameters_sha256": fingerprint,
                 "test": result.test, "train_seconds": result.train_seconds, "timed_steps": result.timed_steps,
                 "fuse": fuse,
                 "examples_per_second": speed,
                 "first_step_at": result.first_step_at,
                 "time_to_first_step": (result.first_step_at - started) if result.first_step_at else None})
