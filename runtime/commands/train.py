"""`dslc train SPEC`: train the spec's model on its data, with checkpoints, resume and early stopping."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from dslc.compiler import conv_lowering
from dslc.runtime.memory_plan import add_device_memory_option
from dslc.runtime.options import (
    add_data_root_option,
    add_device_option,
    add_limit_options,
    add_session_options,
    limits_from,
    positive,
    report,
)

if TYPE_CHECKING:
    from dslc.runtime.training import TrainOptions

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
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="print no progress and no results table (errors are still shown)")
    parser.add_argument("--fuse", type=positive(int), metavar="K",
                        help="train steps per dispatch (default: chosen per model)")
    parser.add_argument("--workers", type=positive(int), metavar="N",
                        help="make the train batches of data read or decoded per batch (image folders, .npy files, "
                             "text) in N worker processes (default: in the training process); the batches, and so "
                             "the parameters, are the same with any N")
    parser.add_argument("--conv-lowering", choices=conv_lowering.MODES,
                        help="how convolutions are computed: auto (default, or $DSLC_CONV_LOWERING): chosen per "
                             "shape on the CPU, XLA's elsewhere; xla: XLA's convolutions; im2col: im2col and one "
                             "matrix product (transposed ones with stride == kernel: one matrix product); chunks: "
                             "XLA's, the kernel's gradient computed over parts of a large batch; the same "
                             "parameters and results within float rounding")
    add_session_options(parser)
    add_device_memory_option(parser)
    add_limit_options(parser)
    add_data_root_option(parser)
    parser.set_defaults(run=run_command)


def options_from(args: argparse.Namespace) -> TrainOptions:
    from dslc.runtime.training import TrainOptions

    return TrainOptions(epochs=args.epochs, batch=args.batch, lr=args.lr, seed=args.seed, device=args.device,
                        workdir=args.workdir, resume=args.resume, overwrite=args.overwrite, devices=args.devices,
                        shard_params=args.shard_params, fuse=args.fuse, workers=args.workers or 0,
                        compile_cache=args.compile_cache, device_memory=args.device_memory,
                        conv_lowering=args.conv_lowering,
                        limits=limits_from(args))


def run_command(args: argparse.Namespace) -> int:
    """Map the flags onto `train_and_evaluate`; print its outcome (errors always, the rest unless --quiet)."""
    from dslc.runtime.training import devnull_reporter, nothing_left_message, train_and_evaluate

    if not args.quiet:
        _print_warnings(args)
    reporter = devnull_reporter() if args.quiet else None
    if reporter is None:
        from dslc.runtime.progress import reporter_for

        reporter = reporter_for()
    try:
        trained = train_and_evaluate(args.file, options_from(args), reporter=reporter,
                                     start_processes=lambda: _start_processes(args))
    except Exception as error:
        return _stopped(error, args)
    finally:
        reporter.close()
    if trained.nothing_left:
        print(nothing_left_message(trained), file=sys.stderr)
        return 0
    import jax

    if jax.process_count() > 1 and jax.process_index() != 0:
        print(f"process {jax.process_index()}: parameters sha256 {trained.summary['parameters_sha256']}")
    elif not args.quiet:
        from dslc.runtime.training import outcome_line, results_table

        print(results_table(trained.rows))
        print(outcome_line(trained))
    return 0


def _print_warnings(args: argparse.Namespace) -> None:
    """The spec's lint warnings on stderr before training starts, as `dslc check` shows them (its configuration
    included): a double sigmoid or a dead layer is cheaper to read about now than after the run."""
    from dslc.compiler.check import check_spec
    from dslc.compiler.lint import lint_file
    from dslc.spec.errors import DslcError, DslcErrors

    checked = check_spec(args.file, limits_from(args))
    if checked.errors is not None:
        return  # training reports them
    loaded, analysis = checked.valid()
    try:
        warnings = lint_file(loaded, analysis, args.file, ignore=["W109"])  # a missing data file stops it: E701
    except DslcError:
        return  # a broken lint configuration is `dslc check`'s to report; it does not stop training
    report(DslcErrors(warnings, loaded.source.text), sys.stderr, args.max_errors)


def _stopped(error: Exception, args: argparse.Namespace) -> int:
    """The loop's own stops as exit codes; anything else goes on to `dslc.runtime.cli`."""
    if "jax" not in sys.modules:
        raise error
    from dslc.runtime.loop import Interrupted, NonFiniteError

    if isinstance(error, NonFiniteError):
        print(f"dslc: {error}", file=sys.stderr)
        return EXIT_NON_FINITE
    if isinstance(error, Interrupted):
        print(f"dslc: {error}; checkpoint saved in {error.workdir / 'checkpoints'}; continue with: "
              f"dslc train {args.file} --resume --workdir {error.workdir}", file=sys.stderr)
        return EXIT_INTERRUPTED
    raise error


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
