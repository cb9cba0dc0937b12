"""`dslc train SPEC`: train the spec's model on its data, evaluate each epoch, report the test split."""

from __future__ import annotations

import argparse
from pathlib import Path

from dslc.runtime.options import add_device_option, add_limit_options, limits_from

EXIT_NON_FINITE = 3


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("train", help="train the model on the spec's data (metrics.jsonl in --workdir)",
                            description="Train SPEC's model as its train section says; flags override it. "
                                        "Exit 0: trained; 2: invalid spec or data; 3: the loss became NaN/Inf.")
    parser.add_argument("file", metavar="SPEC")
    parser.add_argument("--epochs", type=_positive(int), help="epochs (overrides the spec's epochs or steps)")
    parser.add_argument("--batch", type=_positive(int), help="batch size")
    parser.add_argument("--lr", type=_positive(float), help="learning rate (a constant; replaces the spec's schedule)")
    parser.add_argument("--seed", type=int, help="seed for initialisation, data split and shuffling")
    add_device_option(parser, "where to train (default: a GPU or TPU if present, else the CPU)")
    parser.add_argument("--workdir", type=Path, help="where metrics go (default: runs/<model name>)")
    parser.add_argument("--fuse", type=_positive(int), metavar="K",
                        help="train steps per dispatch (default: chosen per model)")
    add_limit_options(parser)
    parser.set_defaults(run=run)


def _positive(kind: type):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not value > 0 or value != value or value == float("inf"):
            raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
        return value

    return parse


def run(args: argparse.Namespace) -> int:
    import math

    import jax

    from dslc.compiler.analysis.analyse import analyse
    from dslc.compiler.build import build_model
    from dslc.compiler.checks import check_training
    from dslc.compiler.devices import select_device
    from dslc.compiler.steps import compute_dtype, init_state, make_steps, make_task
    from dslc.runtime.data import load_dataset
    from dslc.runtime.loop import NonFiniteError, run_training
    from dslc.runtime.progress import reporter_for
    from dslc.spec.errors import DslcError, DslcErrors
    from dslc.spec.load import load

    loaded = load(args.file, limits_from(args))
    spec_train = loaded.spec.train
    if spec_train is None:
        raise DslcErrors([DslcError("E102", "the spec has no train section", loaded.spec.model._node.span,
                                    hint="add train: {loss: ..., optimizer: ..., batch: ..., epochs: ..., data: ...}")],
                         loaded.source.text)
    train = _overridden(spec_train, args)
    seed = args.seed if args.seed is not None else train.seed
    try:
        device = select_device(args.device)
    except DslcError as error:
        raise DslcErrors([error]) from None
    analysis = analyse(loaded)
    problems = check_training(loaded, analysis)
    if problems:
        raise DslcErrors(problems, loaded.source.text)
    dataset = load_dataset(loaded, analysis, seed)
    epochs = args.epochs or train.epochs or math.ceil(train.steps / math.ceil(len(dataset.train.target) / train.batch))
    workdir = args.workdir or Path("runs") / loaded.spec.model.name
    reporter = reporter_for()
    reporter.message(f"training '{loaded.spec.model.name}' ({analysis.totals.trainable:,} trainable parameters) on "
           f"{device.platform}: {len(dataset.train.target):,} training examples, batch {train.batch}, "
           f"{epochs} epochs")
    with jax.default_device(device):
        model = build_model(loaded, analysis, seed=seed, dtype=compute_dtype(train))
        task = make_task(train)
        graphdef, state = init_state(model, task)
        steps = make_steps(graphdef, task)
        try:
            result = run_training(train, analysis, dataset, state, steps, epochs=epochs, seed=seed,
                                  workdir=workdir, fuse=args.fuse, reporter=reporter)
        except NonFiniteError as error:
            reporter.close()
            reporter.message(f"dslc: {error}")
            return EXIT_NON_FINITE
    shown = ", ".join(f"{name} {value:.4f}" for name, value in result.test.items())
    print(f"test: {shown} ({result.steps} steps in {result.seconds:.1f} s; metrics in {workdir / 'metrics.jsonl'})")
    return 0


def _overridden(train, args: argparse.Namespace):
    """The train section with the command line's overrides applied (validated like the spec)."""
    update: dict[str, object] = {}
    if args.batch is not None:
        update["batch"] = args.batch
    if args.epochs is not None:
        update.update(epochs=args.epochs, steps=None)
    if args.lr is not None:
        update["optimizer"] = train.optimizer.model_copy(update={"lr": args.lr})
    return train.model_validate({**dict(train), **update}) if update else train
