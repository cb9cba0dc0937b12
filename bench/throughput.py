"""Training throughput of one spec through dslc's compiled steps (random data of the spec's input shapes).

    python bench/throughput.py examples/transformer_encoder.yaml --batch 256 --steps 200 [--multi 10]

Prints the backend, compute dtype, steps/s and examples/s (median of --repeats timed windows).
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp

import dslc.api as api
from dslc.compiler.steps import Batch


def random_batch(compiled: api.Compiled, batch: int, leading: tuple[int, ...] = ()) -> Batch:
    key = jax.random.PRNGKey(0)
    inputs = []
    for _, tensor in compiled.analysis.inputs:
        shape = (*leading, batch, *tensor.shape)
        if jnp.issubdtype(jnp.dtype(tensor.dtype), jnp.integer):
            inputs.append(jax.random.randint(key, shape, 0, 10, jnp.dtype(tensor.dtype)))
        else:
            inputs.append(jax.random.normal(key, shape, jnp.dtype(tensor.dtype)))
    output = next(layer.output for layer in compiled.analysis.layers if layer.name == compiled.analysis.outputs[0])
    if compiled.spec.spec.train.loss.kind == "softmax_cross_entropy":
        target = jax.random.randint(key, (*leading, batch, *output.shape[:-1]), 0, output.shape[-1])
    else:
        target = jax.random.normal(key, (*leading, batch, *output.shape))
    return Batch(tuple(inputs), target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--multi", type=int, default=0, help="fuse this many steps per call (lax.scan)")
    args = parser.parse_args()
    compiled = api.compile(args.spec)
    state = compiled.state
    if args.multi:
        batch = random_batch(compiled, args.batch, (args.multi,))
        step, per_call = compiled.steps.multi, args.multi
    else:
        batch = random_batch(compiled, args.batch)
        step, per_call = compiled.steps.train, 1
    state, _ = step(state, batch)  # compile
    jax.block_until_ready(state)
    rates = []
    calls = max(args.steps // per_call, 1)
    for _ in range(args.repeats):
        start = time.perf_counter()
        for _ in range(calls):
            state, metrics = step(state, batch)
        jax.block_until_ready(state)
        rates.append(calls * per_call / (time.perf_counter() - start))
    rate = statistics.median(rates)
    print(f"{args.spec}: backend {jax.default_backend()} ({jax.devices()[0].device_kind}), "
          f"compute {compiled.spec.spec.train.precision}, batch {args.batch}, "
          f"params {compiled.analysis.totals.params:,}")
    print(f"  steps/s median {rate:,.1f} (min {min(rates):,.1f}, max {max(rates):,.1f}); "
          f"examples/s {rate * args.batch:,.0f}; FLOPs/example (forward) {compiled.analysis.totals.flops:,}")


if __name__ == "__main__":
    main()
