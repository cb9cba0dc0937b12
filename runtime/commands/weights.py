"""`dslc weights SPEC`: the model's weight names and shapes; with `--save`, a trained checkpoint's weights as a
safetensors file (names as `dslc.compiler.weights` gives them, for `load_weights` and other tools)."""

from __future__ import annotations

import argparse
from pathlib import Path

from dslc.runtime.options import add_limit_options, add_session_options, limits_from
from dslc.spec.errors import DslcError, DslcErrors


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("weights", help="weight names and shapes; --save: a checkpoint's weights (safetensors)")
    parser.add_argument("file", metavar="SPEC")
    parser.add_argument("--save", type=Path, metavar="OUT",
                        help="write the checkpoint's parameters and batch statistics to OUT (.safetensors)")
    parser.add_argument("--checkpoint", type=Path, metavar="DIR",
                        help="with --save: a run's --workdir, its best/ folder or one checkpoint folder "
                             "(default: runs/<model name>/best, or runs/<model name> where there is no best)")
    add_session_options(parser)
    add_limit_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.save is None:
        print(_listing(args))
        return 0
    from dslc.compiler.steps import model_from_state
    from dslc.compiler.weights import save_weights
    from dslc.runtime.session import open_trained

    session, restored = open_trained(args.file, args.checkpoint, limits_from(args), "cpu", args.compile_cache)
    try:
        save_weights(model_from_state(session.graphdef, restored.state), args.save)
    except OSError as exc:
        raise DslcErrors([DslcError("E806", f"{args.save}: cannot write the weights ({exc.strerror or exc})",
                                    hint="choose a writable path", stage="run")]) from None
    print(f"wrote {args.save}: the weights of {restored.folder} (step {restored.step})")
    return 0


def _listing(args: argparse.Namespace) -> str:
    """Every weight's name and shape, from the model built abstractly (nothing allocated)."""
    from flax import nnx

    from dslc.compiler.build import build_model
    from dslc.compiler.check import check_spec
    from dslc.compiler.weights import parameter_names

    loaded, analysis = check_spec(args.file, limits_from(args), training=False).valid()
    names = parameter_names(nnx.eval_shape(lambda: build_model(loaded, analysis)))
    width = max((len(name) for name in names), default=0)
    return "\n".join(f"{name.ljust(width)}  {list(shape)}" for name, shape in names.items())
