"""Benchmark: dslc's compiled train step against a hand-written Flax + optax step (docs/performance.md, W1 and W2).

    python bench/train_step.py              # 5 rounds, each side in a fresh process, interleaved
    python bench/train_step.py --quick      # 3 rounds, fewer steps

Both sides train the same model (parameter counts checked) on the same random batch with Adam,
one jitted step per dispatch, state donated. Prints steps/s medians (min-max) and the ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKLOADS = {"w1_mlp": 300, "w2_cnn": 30}  # timed steps per round


def measure(side: str, workload: str, steps: int) -> dict[str, float]:
    """Runs in a fresh process: steps/s after one compiling step, and the loss before and after."""
    import jax
    import numpy as np

    if side == "flax":
        sys.path.insert(0, str(HERE))
        from reference_flax import make

        step, state, (x, y), count = make(workload, 128)
        run = lambda state: step(state, x, y)  # noqa: E731
    else:
        import dslc.api as api
        from dslc.compiler.steps import Batch

        compiled = api.compile(HERE / "specs" / f"{workload}.yaml")
        count = compiled.analysis.totals.params
        shape = compiled.analysis.inputs[0][1].shape
        key = jax.random.PRNGKey(0)
        batch = Batch((jax.random.normal(key, (128, *shape)),), jax.random.randint(key, (128,), 0, 10))
        state = compiled.state
        run = lambda state: compiled.steps.train(state, batch)  # noqa: E731
    state, first = run(state)  # compiles
    jax.block_until_ready(state)
    start = time.perf_counter()
    for _ in range(steps):
        state, last = run(state)
    jax.block_until_ready(state)
    elapsed = time.perf_counter() - start
    loss = lambda out: float(np.asarray(out["loss"] if isinstance(out, dict) else out))  # noqa: E731
    return {"steps_per_s": steps / elapsed, "params": count, "first_loss": loss(first), "last_loss": loss(last)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--one", nargs=3, metavar=("SIDE", "WORKLOAD", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], args.one[1], int(args.one[2]))))
        return
    rounds = 3 if args.quick else 5
    results: dict[tuple[str, str], list[dict]] = {}
    for _ in range(rounds):
        for workload, steps in WORKLOADS.items():
            steps = max(steps // 3, 5) if args.quick else steps
            for side in ("flax", "dslc"):  # interleaved: machine noise hits both sides alike
                out = subprocess.run([sys.executable, __file__, "--one", side, workload, str(steps)],
                                     capture_output=True, text=True, check=True)
                results.setdefault((workload, side), []).append(json.loads(out.stdout.splitlines()[-1]))
    print(f"{'workload':10} {'side':6} {'params':>9} {'steps/s median (min-max)':>28} {'ratio':>7}  loss first->last")
    for workload in WORKLOADS:
        reference = statistics.median(r["steps_per_s"] for r in results[(workload, "flax")])
        for side in ("flax", "dslc"):
            runs = results[(workload, side)]
            speeds = [r["steps_per_s"] for r in runs]
            median = statistics.median(speeds)
            spread = f"({min(speeds):.1f}-{max(speeds):.1f})"
            print(f"{workload:10} {side:6} {runs[0]['params']:>9,} {median:>12.1f} {spread}"
                  f"{'':>4} {median / reference:>6.2f}x  {runs[0]['first_loss']:.3f}->{runs[0]['last_loss']:.3f}")
        counts = {results[(workload, side)][0]["params"] for side in ("flax", "dslc")}
        assert len(counts) == 1, f"{workload}: the sides train different models ({counts})"


if __name__ == "__main__":
    main()
