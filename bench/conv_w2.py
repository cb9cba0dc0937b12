"""W2 end to end per convolution lowering: `dslc train bench/specs/w2_cnn.yaml --conv-lowering MODE` against
PyTorch eager (bench/peers.py: its default threads and one thread), fresh processes, interleaved rounds
(docs/performance.md).

    python bench/conv_w2.py [ROUNDS] [EPOCHS] [--torch PYTHON] [--modes xla,auto,im2col] [--spec SPEC]

Prints each side's median steps/s (min-max) and the ratios of medians. PYTHON runs bench/peers.py's `torch` side
(default: none). `--spec` times another spec's `dslc train` instead of W2's (no PyTorch side).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from common import HERE, WORKLOADS, dslc_train, load_average, run_child, spread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("rounds", type=int, nargs="?", default=3)
    parser.add_argument("epochs", type=int, nargs="?", default=1)
    parser.add_argument("--torch", metavar="PYTHON", default=None)
    parser.add_argument("--modes", default="xla,auto")
    parser.add_argument("--spec", type=Path, help="a spec to train instead of W2's")
    args = parser.parse_args()
    workload = WORKLOADS["w2"]
    spec = args.spec or workload.spec
    peers = ["torch", "torch-1"] if args.torch and not args.spec else []  # torch-1: one thread, for context
    sides = [f"dslc {mode}" for mode in args.modes.split(",")] + peers
    rates: dict[str, list[float]] = {side: [] for side in sides}
    losses: dict[str, list[float]] = {side: [] for side in sides}
    print(f"{spec.stem}, {args.rounds} rounds, dslc {args.epochs} epoch(s) a round; load {load_average():.1f}",
          flush=True)
    for round_ in range(args.rounds):
        for side in sides[round_ % len(sides):] + sides[:round_ % len(sides)]:
            if side in peers:
                steps = args.epochs * workload.steps_per_epoch
                child = run_child([args.torch, str(HERE / "peers.py"), side, "w2", str(steps)])
                result = child.check(f"{side} on w2").last_json()
                rates[side].append(result["steps_per_s"])
                losses[side].append(result["last_loss"])
            else:
                run = dslc_train(spec, args.epochs, extra=("--conv-lowering", side.split()[1]))
                rates[side].append(run["steps_per_s"])
                losses[side].append(run["losses"][-1])
            print(f"  round {round_ + 1} {side}: {rates[side][-1]:.1f} steps/s", flush=True)
    print(f"load at the end {load_average():.1f}")
    print("| side | steps/s median (min-max) | last train loss |")
    print("|---|---|---|")
    for side in sides:
        print(f"| {side} | {spread(rates[side], digits=1)} | {statistics.median(losses[side]):.4f} |")
    medians = {side: statistics.median(values) for side, values in rates.items()}
    first = sides[0]
    for side in sides[1:]:
        print(f"{side} / {first}: {medians[side] / medians[first]:.2f}")
    for peer in peers:
        for side in sides[:len(sides) - len(peers)]:
            print(f"{side} / {peer}: {medians[side] / medians[peer]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
