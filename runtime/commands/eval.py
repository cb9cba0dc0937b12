"""`dslc eval SPEC --checkpoint DIR`: the metrics of a trained checkpoint on a split of the spec's data."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dslc.runtime.options import (
    add_data_root_option,
    add_device_option,
    add_limit_options,
    add_session_options,
    limits_from,
)
from dslc.runtime.progress import plural


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("eval", help="metrics of a trained checkpoint on the test split (or another)",
                            description="Restore a checkpoint of `dslc train SPEC` and report its loss and metrics "
                                        "on a split of the data it was trained with (same seed, same split).")
    parser.add_argument("file", metavar="SPEC")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--checkpoint", type=Path, metavar="DIR",
                        help="a run's --workdir (its latest checkpoint), its best/ folder, or one checkpoint folder "
                             "(default: runs/<model name>/best, or runs/<model name> where there is no best)")
    source.add_argument("--initial", action="store_true",
                        help="evaluate the model as training would start it, with the spec's train.init weights "
                             "(pretrained weights checked before fine-tuning), instead of a checkpoint")
    parser.add_argument("--split", choices=("test", "validation", "train"), default="test")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    add_device_option(parser, "where to evaluate (default: a GPU or TPU if present, else the CPU)")
    add_session_options(parser)
    add_limit_options(parser)
    add_data_root_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dslc.runtime.training import TARGET_UNITS, evaluate_checkpoint

    result = evaluate_checkpoint(args.file, args.checkpoint, args.split, device=args.device,
                                 compile_cache=args.compile_cache, limits=limits_from(args), initial=args.initial)
    if args.format == "json":
        checkpoint = None if result.checkpoint is None else str(result.checkpoint)
        print(json.dumps({"checkpoint": checkpoint, "step": result.step, "split": result.split,
                          "examples": result.examples, "metrics": result.metrics,
                          "loss_normalized": result.loss_normalized}, indent=2))
    else:
        shown = ", ".join(f"{name} {value:.4f}" for name, value in result.metrics.items())
        source = ("the initial weights" if result.checkpoint is None
                  else f"checkpoint {result.checkpoint}, step {result.step}")
        print(f"{result.split}: {shown} ({plural(result.examples, 'example')}; {source})")
        if result.loss_normalized:
            print(TARGET_UNITS)
    return 0
