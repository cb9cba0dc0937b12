"""dslc's planned memory of a train step (`dslc.compiler.memory`, no JAX) against XLA's own memory analysis of the
compiled step, for every zoo model at a small batch on the CPU. Lowered and compiled only: nothing runs.

    python bench/memory_estimate.py [--batch 4] [--tiny-only] [--remat] [SPEC ...]

A full-size zoo model has no train section: it is given its tiny sibling's (examples/zoo/<name>_tiny.yaml), so
both train alike. Convolutions take XLA's lowering (`DSLC_CONV_LOWERING=auto` for the CPU's own). Prints model,
estimate, XLA (argument + output - alias + temporaries), the estimate's error relative to XLA, the parts of each,
and the time each compilation took.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# The estimate plans an accelerator's memory, whose programs take XLA's convolutions; the CPU's own lowerings
# (im2col, shifts, chunks: docs/performance.md) keep other temporaries: DSLC_CONV_LOWERING=auto measures those.
os.environ.setdefault("DSLC_CONV_LOWERING", "xla")

from dslc.compiler.analysis.analyse import analyse  # noqa: E402
from dslc.compiler.memory import OVER, UNDER, estimate, setup_of, shown  # noqa: E402
from dslc.compiler.memory_xla import compiled_step_memory  # noqa: E402
from dslc.spec.load import load  # noqa: E402

ZOO = Path(__file__).resolve().parent.parent / "examples" / "zoo"


def zoo_specs(tiny_only: bool) -> list[Path]:
    specs = sorted(ZOO.glob("*.yaml"))
    # a full-size model has a tiny sibling (convnext_tiny's is convnext_tiny_tiny); moe_tiny has none
    tiny = [path for path in specs if not path.with_name(f"{path.stem}_tiny.yaml").exists()]
    return tiny if tiny_only else tiny + [path for path in specs if path not in tiny]


def train_for(path: Path):  # noqa: ANN201
    loaded = load(path)
    train = loaded.spec.train
    if train is None:
        train = load(path.with_name(f"{path.stem}_tiny.yaml")).spec.train
    return loaded, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="*", type=Path)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--tiny-only", action="store_true")
    parser.add_argument("--remat", action="store_true", help="train with remat: true")
    args = parser.parse_args()
    specs = args.specs or zoo_specs(args.tiny_only)
    print("| model | batch | estimate | XLA | error | parameters + gradients + optimizer | activations | "
          "XLA temporaries | compile s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    started, errors = time.perf_counter(), []
    for path in specs:
        loaded, train = train_for(path)
        train = train.model_copy(update={"batch": args.batch, "remat": args.remat or train.remat})
        analysis = analyse(loaded)
        if len(analysis.outputs) > 1:  # training takes one output (E602)
            print(f"| {path.stem} | {args.batch} | | | | | | | not trainable: {len(analysis.outputs)} outputs |")
            continue
        planned = estimate(analysis, loaded.graph, setup_of(train))
        began = time.perf_counter()
        xla = compiled_step_memory(loaded, analysis, train)
        took = time.perf_counter() - began
        error = planned.total / xla.total - 1
        errors.append(error)
        state = planned.parameters + planned.gradients + planned.optimizer
        print(f"| {path.stem} | {args.batch} | {shown(planned.total)} | {shown(xla.total)} | {error:+.0%} | "
              f"{shown(state)} | {shown(planned.activations)} | {shown(xla.temp)} | {took:.1f} |", flush=True)
    within = all(-UNDER <= error <= OVER for error in errors)
    print(f"\nerrors from {min(errors):+.0%} to {max(errors):+.0%} ({'within' if within else 'NOT within'} "
          f"-{UNDER:.0%} .. +{OVER:.0%}); {time.perf_counter() - started:.0f} s in all", file=sys.stderr)


if __name__ == "__main__":
    main()
