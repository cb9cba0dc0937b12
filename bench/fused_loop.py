"""Benchmark: the `dslc train` loop (fused steps) against hand-written Flax + optax loops (DESIGN §10, W3).

    python bench/fused_loop.py              # 5 rounds, each side in a fresh process, interleaved
    python bench/fused_loop.py --quick      # 3 rounds, fewer epochs

W3 is the dispatch-bound tiny MLP (64 -> 32 relu -> 10, batch 32, Adam, 2,410 parameters), trained on
80,000 random examples (2,500 steps an epoch). The sides:

- dslc: `dslc train bench/specs/w3_tiny_mlp.yaml --compile-cache off`, the CLI's own training path, in a
  fresh process; steps/s = run.json's steps / train_seconds (from the first step's end, so compilation is
  excluded, but the per-epoch validation pass and checkpoint saves are in: it is the real loop).
- flax: a Flax linen + optax loop, one `jax.jit` step per dispatch, state donated; each step gathers a
  shuffled batch from host numpy arrays and `jax.device_put`s it, as a user's loop would.
- resident: the per-step loop on one batch put on the device once, for context: the loop DESIGN §10's
  W3 peer figure (27,700 steps/s) measures, without the per-step host-to-device copies.
- scan: the per-step loop with `lax.scan` over 64 steps per dispatch (one staged (64, 32, ...) batch a call),
  for context.

The hand-written sides time the same number of steps as dslc after one compiling call, without
validation. Prints steps/s medians (min-max) and the ratio to the per-step loop (target: dslc >= 3x).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SPEC = HERE / "specs" / "w3_tiny_mlp.yaml"
SIDES = ("flax", "resident", "scan", "dslc")
TRAIN_EXAMPLES, FEATURES, CLASSES, BATCH, FUSE = 80_000, 64, 10, 32, 64  # the spec's 100,000 samples, 80% train
STEPS_PER_EPOCH = math.ceil(TRAIN_EXAMPLES / BATCH)


def reference(fuse: int) -> tuple[Callable, Any, int]:
    """The hand-written W3 step (fuse == 1) or `lax.scan` over `fuse` steps: (step, state, parameter count)."""
    import flax.linen as nn
    import jax
    import jax.numpy as jnp
    import optax

    class TinyMLP(nn.Module):
        @nn.compact
        def __call__(self, x: jax.Array) -> jax.Array:
            return nn.Dense(CLASSES)(nn.relu(nn.Dense(32)(x)))

    model, optimizer = TinyMLP(), optax.adam(1e-3)
    params = model.init(jax.random.PRNGKey(0), jnp.zeros((BATCH, FEATURES), jnp.float32))["params"]

    def loss_fn(params: Any, x: jax.Array, y: jax.Array) -> jax.Array:
        logits = model.apply({"params": params}, x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    def one(state: Any, batch: tuple[jax.Array, jax.Array]) -> tuple[Any, jax.Array]:
        params, opt_state = state
        loss, grads = jax.value_and_grad(loss_fn)(params, *batch)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    def step(state: Any, x: jax.Array, y: jax.Array) -> tuple[Any, jax.Array]:
        return one(state, (x, y)) if fuse == 1 else jax.lax.scan(one, state, (x, y))

    count = sum(leaf.size for leaf in jax.tree.leaves(params))
    return jax.jit(step, donate_argnums=0), (params, optimizer.init(params)), count


def batch_indices(steps: int, seed: int = 0) -> Iterator[Any]:
    """Row indices of `steps` batches, a fresh shuffle each epoch."""
    import numpy as np

    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(TRAIN_EXAMPLES)
        for start in range(0, TRAIN_EXAMPLES, BATCH):
            if steps == 0:
                return
            yield order[start:start + BATCH]
            steps -= 1


def measure_reference(side: str, steps: int) -> dict[str, float]:
    """Runs in a fresh process: steps/s of a hand-written loop after one compiling call, and its losses."""
    import jax
    import numpy as np

    fuse = FUSE if side == "scan" else 1
    rng = np.random.default_rng(0)
    x = rng.standard_normal((TRAIN_EXAMPLES, FEATURES), dtype=np.float32)
    y = rng.integers(0, CLASSES, TRAIN_EXAMPLES, dtype=np.int32)
    step, state, count = reference(fuse)
    calls = steps // fuse
    indices = batch_indices((calls + 1) * fuse)

    resident = jax.device_put((x[:BATCH], y[:BATCH]))

    def run(state: Any) -> tuple[Any, Any]:
        if side == "resident":
            return step(state, *resident)
        rows = np.stack([next(indices) for _ in range(fuse)]) if fuse > 1 else next(indices)
        return step(state, jax.device_put(x[rows]), jax.device_put(y[rows]))

    state, first = run(state)  # compiles
    jax.block_until_ready(state)
    start = time.perf_counter()
    for _ in range(calls):
        state, last = run(state)
    jax.block_until_ready(state)
    elapsed = time.perf_counter() - start
    return {"steps_per_s": calls * fuse / elapsed, "params": count,
            "first_loss": float(np.mean(first)), "last_loss": float(np.mean(last))}


def measure_dslc(epochs: int) -> dict[str, float]:
    """`dslc train` in a fresh process: steps / train_seconds from run.json, losses from metrics.jsonl."""
    with tempfile.TemporaryDirectory() as workdir:
        command = [sys.executable, "-m", "dslc", "train", str(SPEC), "--epochs", str(epochs),
                   "--workdir", workdir, "--compile-cache", "off"]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"dslc train exited {done.returncode}:\n{done.stderr[-2000:]}")
        run = json.loads((Path(workdir) / "run.json").read_text())
        records = [json.loads(line) for line in (Path(workdir) / "metrics.jsonl").read_text().splitlines()]
    losses = [record["loss"] for record in records if record["split"] == "train"]
    return {"steps_per_s": run["steps"] / run["train_seconds"], "first_loss": losses[0], "last_loss": losses[-1]}


def dslc_params() -> int:
    import dslc.api as api

    return api.analyse(SPEC).totals.params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--one", nargs=2, metavar=("SIDE", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_reference(args.one[0], int(args.one[1]))))
        return
    rounds, epochs = (3, 5) if args.quick else (5, 16)
    steps = epochs * STEPS_PER_EPOCH
    results: dict[str, list[dict[str, float]]] = {side: [] for side in SIDES}
    for _ in range(rounds):
        for side in SIDES:  # interleaved: machine noise hits every side alike
            if side == "dslc":
                results[side].append(measure_dslc(epochs))
                continue
            out = subprocess.run([sys.executable, __file__, "--one", side, str(steps)],
                                 capture_output=True, text=True, check=True)
            results[side].append(json.loads(out.stdout.splitlines()[-1]))

    params = dslc_params()
    for run in results["dslc"]:
        run["params"] = params
    print(f"W3 tiny MLP, {epochs} epochs x {STEPS_PER_EPOCH:,} steps = {steps:,} steps a run, {rounds} rounds; "
          f"{platform.machine()} with {os.cpu_count()} CPUs, jax {version('jax')}, {datetime.date.today()}")
    labels = {"flax": "flax per-step jit", "resident": "  same, one batch", "scan": f"flax lax.scan x{FUSE}",
              "dslc": "dslc train (CLI)"}
    reference_speed = statistics.median(r["steps_per_s"] for r in results["flax"])
    print(f"{'side':20} {'params':>7} {'steps/s median (min-max)':>32} {'ratio':>7}  train loss first->last")
    for side in SIDES:
        runs = results[side]
        speeds = [r["steps_per_s"] for r in runs]
        median = statistics.median(speeds)
        spread = f"({min(speeds):,.0f}-{max(speeds):,.0f})"
        print(f"{labels[side]:20} {runs[0]['params']:>7,} {median:>10,.0f} {spread:>21}"
              f" {median / reference_speed:>7.2f}x  {runs[0]['first_loss']:.3f}->{runs[0]['last_loss']:.3f}")
    counts = {r["params"] for runs in results.values() for r in runs}
    assert counts == {2410}, f"the sides train different models ({counts})"
    losses = [r[key] for runs in results.values() for r in runs for key in ("first_loss", "last_loss")]
    assert all(math.isfinite(loss) for loss in losses), "a side's loss is not finite"


if __name__ == "__main__":
    main()
