"""`dslc eval SPEC --checkpoint DIR`: the metrics of a trained checkpoint on a split of the spec's data."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dslc.runtime.options import add_device_option, add_limit_options, add_session_options, limits_from


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("eval", help="metrics of a trained checkpoint on the test split (or another)",
                            description="Restore a checkpoint of `dslc train SPEC` and report its loss and metrics "
                                        "on a split of the data it was trained with (same seed, same split).")
    parser.add_argument("file", metavar="SPEC")
    parser.add_argument("--checkpoint", type=Path, required=True, metavar="DIR",
                        help="a run's --workdir (its latest checkpoint), its best/ folder, or one checkpoint folder")
    parser.add_argument("--split", choices=("test", "validation", "train"), default="test")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    add_device_option(parser, "where to evaluate (default: a GPU or TPU if present, else the CPU)")
    add_session_options(parser)
    add_limit_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import jax

    from dslc.runtime.loop import evaluate
    from dslc.runtime.session import open_trained

    session, restored = open_trained(args.file, args.checkpoint, limits_from(args), args.device, args.compile_cache)
    with jax.default_device(session.device):
        metrics = evaluate(session.steps, restored.state, session.dataset, args.split, session.train.batch,
                           restored.record.get("fuse", 1), session.placement)  # batched as in training
    if args.format == "json":
        print(json.dumps({"checkpoint": str(restored.folder), "step": restored.step, "split": args.split,
                          "examples": len(session.dataset.split(args.split)), "metrics": metrics}, indent=2))
    else:
        shown = ", ".join(f"{name} {value:.4f}" for name, value in metrics.items())
        print(f"{args.split}: {shown} ({len(session.dataset.split(args.split)):,} examples; checkpoint "
              f"{restored.folder}, step {restored.step})")
    return 0
