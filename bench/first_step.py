"""Benchmark: time to the first training step, a first run against a second one on the same compile cache (DESIGN §10).

    python bench/first_step.py                                  # W2 CNN, 3 rounds
    python bench/first_step.py --spec examples/digits_mlp.yaml  # another spec (repeat --spec for several)
    python bench/first_step.py --quick                          # 2 rounds

Each round makes an empty cache folder and runs `dslc train SPEC --epochs 1 --compile-cache <that folder>` twice,
each in a fresh process and a fresh work directory: the first run compiles and fills JAX's persistent compilation
cache, the second should load from it. Time to first step is run.json's `first_step_at` minus the time recorded
just before the process starts, so interpreter start and imports are in; run.json's own `time_to_first_step`
(from the command's start) is shown too. Prints medians (min-max) over the rounds and the per-round ratio
second/first (target: <= 0.4x).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
MEASURES = {"wall": "from process start", "cli": "run.json time_to_first_step"}


def train(spec: Path, cache: Path) -> dict[str, float]:
    """One `dslc train` in a fresh process: seconds to the first step, from process start and as run.json says."""
    with tempfile.TemporaryDirectory() as workdir:
        command = [sys.executable, "-m", "dslc", "train", str(spec), "--epochs", "1",
                   "--workdir", workdir, "--compile-cache", str(cache)]
        started = time.time()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _, stderr = process.communicate()
        if process.returncode != 0:
            print(f"dslc train {spec} exited {process.returncode}:\n{stderr[-2000:]}", file=sys.stderr)
            sys.exit(1)
        run = json.loads((Path(workdir) / "run.json").read_text())
    return {"wall": run["first_step_at"] - started, "cli": run["time_to_first_step"]}


def spread(values: list[float], unit: str) -> str:
    return f"{statistics.median(values):.2f}{unit} ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--spec", type=Path, action="append", help="spec to train (default: bench/specs/w2_cnn.yaml)")
    args = parser.parse_args()
    specs: list[Path] = args.spec or [HERE / "specs" / "w2_cnn.yaml"]
    rounds = 2 if args.quick else 3
    runs: dict[Path, list[tuple[dict[str, float], dict[str, float], int]]] = {spec: [] for spec in specs}
    for _ in range(rounds):
        for spec in specs:  # interleaved: machine noise hits every spec alike
            with tempfile.TemporaryDirectory() as cache:
                first = train(spec, Path(cache))
                entries = sum(len(files) for _, _, files in os.walk(cache))
                second = train(spec, Path(cache))
            runs[spec].append((first, second, entries))

    print(f"time to first step, {rounds} rounds, medians (min-max); {platform.machine()} with {os.cpu_count()} CPUs, "
          f"jax {version('jax')}, {datetime.date.today()}")
    print(f"{'spec':28} {'measured':28} {'first run':>20} {'second run':>20} {'second/first':>20}  cache files")
    for spec, results in runs.items():
        for measure, label in MEASURES.items():
            first = [result[0][measure] for result in results]
            second = [result[1][measure] for result in results]
            ratios = [result[1][measure] / result[0][measure] for result in results]
            entries = statistics.median(result[2] for result in results)
            print(f"{spec.name:28} {label:28} {spread(first, 's'):>20} {spread(second, 's'):>20}"
                  f" {spread(ratios, 'x'):>20}  {entries:.0f}")


if __name__ == "__main__":
    main()
