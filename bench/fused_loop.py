"""Benchmark: the `dslc train` loop (fused steps) against hand-written Flax + optax loops (docs/performance.md, W3).

    python bench/fused_loop.py              # 5 rounds, each side in a fresh process, interleaved
    python bench/fused_loop.py --quick      # 3 rounds, fewer epochs

W3 is the dispatch-bound tiny MLP (64 -> 32 relu -> 10, batch 32, Adam, 2,410 parameters), trained on
80,000 random examples (2,500 steps an epoch). The sides:

- dslc: `dslc train bench/specs/w3_tiny_mlp.yaml --compile-cache off`, the CLI's own training path, in a
  fresh process; steps/s = the steps after the first dispatch over run.json's train_seconds (which starts when
  the first dispatch ends, so compilation is excluded, but the per-epoch validation pass and checkpoint saves
  are in: it is the real loop).
- flax: a Flax linen + optax loop, one `jax.jit` step per dispatch, state donated; each step gathers a
  shuffled batch from host numpy arrays and `jax.device_put`s it, as a user's loop would.
- resident: the per-step loop on one batch put on the device once, for context: the same loop without the
  per-step host-to-device copies.
- scan: the per-step loop with `lax.scan` over 64 steps per dispatch (one staged (64, 32, ...) batch a call),
  for context.

The hand-written loops are bench/peers.py's (one fresh process each).

The hand-written sides time the same number of steps as dslc after one compiling call, without
validation. Prints steps/s medians (min-max) and the ratio to the per-step loop (target: dslc >= 3x).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys

from common import HERE, WORKLOADS, dslc_train, machine, package_version, run_child

WORKLOAD = WORKLOADS["w3"]
SIDES = ("flax", "resident", "scan", "dslc")
PEER = {"flax": "flax", "resident": "flax-resident", "scan": "flax-scan"}  # bench/peers.py's names
FUSE = WORKLOAD.scan
STEPS_PER_EPOCH = WORKLOAD.steps_per_epoch


def measure_reference(side: str, steps: int) -> dict[str, float]:
    """A hand-written loop in a fresh process (bench/peers.py): steps/s after one compiling call, and its losses."""
    child = run_child([sys.executable, str(HERE / "peers.py"), PEER[side], "w3", str(steps)])
    return child.check(f"bench/peers.py {PEER[side]}").last_json()


def measure_dslc(epochs: int) -> dict[str, float]:
    """`dslc train` in a fresh process: steps/s from run.json (after the first dispatch), epoch losses."""
    run = dslc_train(WORKLOAD.spec, epochs)
    return {"steps_per_s": run["steps_per_s"], "first_loss": run["losses"][0], "last_loss": run["losses"][-1]}


def dslc_params() -> int:
    import dslc.api as api

    return api.analyse(WORKLOAD.spec).totals.params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds, epochs = (3, 5) if args.quick else (5, 16)
    steps = epochs * STEPS_PER_EPOCH
    results: dict[str, list[dict[str, float]]] = {side: [] for side in SIDES}
    for _ in range(rounds):
        for side in SIDES:  # interleaved: machine noise hits every side alike
            results[side].append(measure_dslc(epochs) if side == "dslc" else measure_reference(side, steps))

    params = dslc_params()
    for run in results["dslc"]:
        run["params"] = params
    print(f"W3 tiny MLP, {epochs} epochs x {STEPS_PER_EPOCH:,} steps = {steps:,} steps a run, {rounds} rounds; "
          f"{machine()}, jax {package_version('jax')}")
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
