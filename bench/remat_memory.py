"""XLA's memory analysis of a spec's compiled train step, with and without `remat` and with `accumulate`.

    python bench/remat_memory.py examples/text_bytes.yaml --repeat 8 --batch 64 [--accumulate 4]

`--repeat N` sets every block use's repeat count to N (a deeper model shows the saving better). Prints the
backend and, per variant, the step's temporary bytes (activations and workspace) as XLA's buffer assignment
counts them. On the CPU backend rematerialisation shows no saving there (see docs/performance.md).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import jax
import jax.numpy as jnp

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.build import build_model
from dslc.compiler.steps import Batch, init_state, make_steps
from dslc.spec.load import load_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path)
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--accumulate", type=int, default=4)
    args = parser.parse_args()
    text = args.spec.read_text(encoding="utf-8")
    if args.repeat is not None:
        text = re.sub(r"repeat: \d+", f"repeat: {args.repeat}", text)
    loaded = load_text(text, "dsl" if args.spec.suffix == ".dsl" else "yaml")
    train = loaded.spec.train
    assert train is not None
    analysis = analyse(loaded)
    (name, tensor), = analysis.inputs
    output = analysis.layer(analysis.outputs[0]).output
    inputs = jnp.zeros((args.batch, *tensor.shape), tensor.dtype)
    target = jnp.zeros((args.batch, *output.shape[:-1]), jnp.int32)
    print(f"backend {jax.default_backend()}, batch {args.batch}")
    for label, remat, accumulate in (("plain", False, 1), ("remat", True, 1),
                                     (f"accumulate {args.accumulate}", False, args.accumulate)):
        step_train = train.model_copy(update={"batch": args.batch, "accumulate": accumulate})
        graphdef, state = init_state(build_model(loaded, analysis, remat=remat), step_train)
        compiled = make_steps(graphdef, step_train).train.lower(state, Batch((inputs,), target)).compile()
        memory = compiled.memory_analysis()
        print(f"{label:>14}: temporaries {memory.temp_size_in_bytes / 2**20:8.1f} MiB")


if __name__ == "__main__":
    main()
