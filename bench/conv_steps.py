"""Whole training steps per convolution lowering: `dslc train SPEC --conv-lowering MODE` in fresh processes.

    python bench/conv_steps.py [--specs NAME,...] [--modes MODE,...] [--rounds N] [--epochs E]

A convolution timed alone misleads (docs/performance.md#cpu-convolutions): a first layer's input needs no
gradient, and XLA schedules a whole step differently, so `compiler/conv_lowering.py`'s rule is checked here, end to
end. Each round runs every (spec, mode) once, in a fresh process and work directory, the modes' order rotating
from round to round; figures are medians (min-max) over the rounds: steps/s after the first dispatch (run.json's
`timed_steps` over `train_seconds`, validation included) and the time to the first step from the process's spawn
(compilation included: a lowering that splits a convolution into more of them compiles longer). The default
specs: W2 (unpadded 3x3 convolutions), the digits CNN (padded, a batch of 64 8x8 images) and the two CIFAR-sized
CNNs of bench/specs/ (padded, batch 128, one with stride-2 convolutions).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from common import ROOT, SPECS, dslc_train, load_average, machine, spread

SPECS_BY_NAME = {
    "w2_cnn": (SPECS / "w2_cnn.yaml", 2),
    "digits_cnn": (ROOT / "examples" / "digits_cnn.yaml", 5),
    "cifar_cnn": (SPECS / "cifar_cnn.yaml", 1),
    "cifar_strided_cnn": (SPECS / "cifar_strided_cnn.yaml", 1),
}
MODES = ("xla", "im2col", "chunks", "auto")


def measure(spec: Path, epochs: int, mode: str) -> tuple[float, float]:
    """(steps/s, seconds to the first step) of one fresh `dslc train` run."""
    run = dslc_train(spec, epochs, extra=("--conv-lowering", mode, "--quiet"))
    return run["steps_per_s"], run["wall_to_first_step"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", default=",".join(SPECS_BY_NAME), help="comma-separated: " + ", ".join(SPECS_BY_NAME))
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated --conv-lowering modes")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, help="epochs per run (default: per spec)")
    args = parser.parse_args()
    names, modes = args.specs.split(","), args.modes.split(",")
    unknown = [name for name in names if name not in SPECS_BY_NAME] + [mode for mode in modes if mode not in MODES]
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}")
    print(f"{machine()}; load {load_average():.1f}; {args.rounds} rounds, fresh processes, modes rotating")
    figures: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for round_ in range(args.rounds):
        for name in names:
            spec, epochs = SPECS_BY_NAME[name]
            shift = round_ % len(modes)
            for mode in modes[shift:] + modes[:shift]:
                figures.setdefault((name, mode), []).append(measure(spec, args.epochs or epochs, mode))
    print(f"\n| spec | {' | '.join(modes)} |")
    print("|---|" + "---:|" * len(modes))
    for name in names:
        cells = []
        for mode in modes:
            rates, firsts = zip(*figures[(name, mode)], strict=True)
            cells.append(f"{spread(list(rates), digits=1)} steps/s, first step {statistics.median(firsts):.2f} s")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(f"\nload at the end {load_average():.1f}")


if __name__ == "__main__":
    main()
