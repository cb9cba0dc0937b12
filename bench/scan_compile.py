"""Compile time of a deep decoder's train step, unrolled and with `scan: true` (repeated blocks compiled once).

    python bench/scan_compile.py [--blocks 24] [--width 32] [--runs 3]

A tiny byte-level decoder (`--width` wide, `--blocks` uses of one `decoder_block`), batch 8 of 64 positions.
Per variant (plain, scan, remat, scan + remat; and, for reference, the plain model with one block): the medians
over `--runs` of tracing and lowering the jitted train step (`.lower`) and of XLA compiling it (`.compile`), in
seconds, each run from a freshly built model and step (nothing cached in between: the persistent compilation
cache is not enabled here).
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.build import build_model
from dslc.compiler.steps import Batch, init_state, make_steps
from dslc.spec.load import load_text

SPEC = """\
dslc: 1
blocks:
  layer:
    layers:
      - decoder_block: {{heads: 2, mlp_dim: {mlp}, dropout: 0.1}}
model:
  name: deep_bytes
  inputs: {{bytes: {{shape: [64], dtype: int32}}}}
  layers:
    - embedding: {{vocab: 256, dim: {width}}}
    - layer: {{}}
      repeat: {blocks}
    - layernorm
    - dense: {{units: 256}}
train:
  loss: softmax_cross_entropy
  optimizer: {{adamw: {{lr: 0.001}}}}
  batch: 8
  steps: 1
  data: {{text: {{path: text.txt}}}}
"""

VARIANTS = (("plain", False, False), ("scan", True, False), ("remat", False, True), ("scan + remat", True, True))


def timings(text: str, *, scan: bool, remat: bool) -> tuple[float, float]:
    """Seconds to lower and to compile the train step of a freshly built model."""
    loaded = load_text(text, "yaml")
    train = loaded.spec.train
    assert train is not None
    graphdef, state = init_state(build_model(loaded, analyse(loaded), scan=scan, remat=remat), train)
    ids = jnp.zeros((train.batch, 64), jnp.int32)
    step = make_steps(graphdef, train).train
    start = time.perf_counter()
    lowered = step.lower(state, Batch((ids,), ids))
    lowered_at = time.perf_counter()
    lowered.compile()
    return lowered_at - start, time.perf_counter() - lowered_at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=24)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    text = SPEC.format(blocks=args.blocks, width=args.width, mlp=4 * args.width)
    print(f"backend {jax.default_backend()}, {args.blocks} decoder blocks of width {args.width}, "
          f"medians of {args.runs}")
    print(f"{'variant':>16}  {'lower s':>8}  {'compile s':>9}  {'total s':>8}")
    one_block = SPEC.format(blocks=1, width=args.width, mlp=4 * args.width)
    for label, spec, scan, remat in (*((label, text, scan, remat) for label, scan, remat in VARIANTS),
                                     ("plain, 1 block", one_block, False, False)):
        runs = [timings(spec, scan=scan, remat=remat) for _ in range(args.runs)]
        lower, compile_ = (statistics.median(part) for part in zip(*runs, strict=True))
        print(f"{label:>16}  {lower:8.2f}  {compile_:9.2f}  {lower + compile_:8.2f}")


if __name__ == "__main__":
    main()
