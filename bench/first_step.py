"""Benchmark: time to the first training step, a first run against a second one on the same compile cache.

Method and target: docs/performance.md.

    python bench/first_step.py                                  # W2 CNN, 3 rounds
    python bench/first_step.py --spec examples/digits_mlp.yaml  # another spec (repeat --spec for several)
    python bench/first_step.py --quick                          # 2 rounds
    python bench/first_step.py --spec bench/specs/w1_mlp.yaml --reference w1   # and the hand-written Flax loop

Each round makes an empty cache folder and runs `dslc train SPEC --epochs 1 --compile-cache <that folder>` twice,
each in a fresh process and a fresh work directory: the first run compiles and fills JAX's persistent compilation
cache, the second should load from it. Time to first step is run.json's `first_step_at` minus the time recorded
just before the process starts, so interpreter start and imports are in; run.json's own `time_to_first_step`
(from the command's start) is shown too. Prints medians (min-max) over the rounds and the per-round ratio
second/first (target: <= 0.4x). A spec with synthetic data is trained from a copy with 10 batches of it, so the
rest of the epoch after the first step is short (the model and its programs are the same). bench/run.py
reports the same measurement through `first_and_second`.

`--reference WORKLOAD` (w1, w2, w3) times the hand-written Flax per-step loop (peers.py `flax`, one step) on that
workload in each round too, in a fresh process after the spec's two runs, and prints each spec's first run over it
(target: <= 1.0x), round by round.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import yaml
from common import HERE, SPECS, dslc_train, machine, package_version, run_child, spread

MEASURES = {"wall": "from process start", "cli": "run.json time_to_first_step"}


def short_copy(spec: Path, folder: Path) -> Path:
    """`spec`, or a copy in `folder` with 10 batches of synthetic data when its data is synthetic (YAML only)."""
    if spec.suffix not in (".yaml", ".yml"):
        return spec
    document = yaml.safe_load(spec.read_text())
    train = document.get("train", {})
    data = train.get("data")
    synthetic = data.get("synthetic") if isinstance(data, dict) else None  # `data: digits` names a data set
    if not isinstance(synthetic, dict) or "batch" not in train:
        return spec
    synthetic["samples"] = 10 * train["batch"]
    train.pop("steps", None)
    train["epochs"] = 1
    copy = folder / spec.name
    copy.write_text(yaml.safe_dump(document, sort_keys=False))
    return copy


def train(spec: Path, cache: Path) -> dict[str, float]:
    """One `dslc train` in a fresh process: seconds to the first step, from process start and as run.json says."""
    run = dslc_train(spec, 1, cache)
    return {"wall": run["wall_to_first_step"], "cli": run["time_to_first_step"]}


def first_and_second(spec: Path) -> tuple[dict[str, float], dict[str, float], int]:
    """One round: a first run on an empty cache, a second on what it left; (first, second, cache files)."""
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryDirectory() as cache:
        spec = short_copy(spec, Path(folder))
        first = train(spec, Path(cache))
        entries = sum(len(files) for _, _, files in os.walk(cache))
        second = train(spec, Path(cache))
    return first, second, entries


def reference(workload: str) -> float:
    """Seconds from spawning the hand-written Flax per-step loop (peers.py) to the end of its first step."""
    child = run_child([sys.executable, str(HERE / "peers.py"), "flax", workload, "1"]).check("peers.py flax")
    return child.last_json()["first_step_at"] - child.started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--spec", type=Path, action="append", help="spec to train (default: bench/specs/w2_cnn.yaml)")
    parser.add_argument("--reference", metavar="WORKLOAD", choices=("w1", "w2", "w3"),
                        help="also time the hand-written Flax per-step loop's first step on this workload")
    args = parser.parse_args()
    specs: list[Path] = [spec.resolve() for spec in args.spec] if args.spec else [SPECS / "w2_cnn.yaml"]
    rounds = 2 if args.quick else 3
    runs: dict[Path, list[tuple[dict[str, float], dict[str, float], int]]] = {spec: [] for spec in specs}
    references: list[float] = []
    for _ in range(rounds):
        for spec in specs:  # interleaved: machine noise hits every spec alike
            runs[spec].append(first_and_second(spec))
        if args.reference:
            references.append(reference(args.reference))

    print(f"time to first step, {rounds} rounds, medians (min-max); {machine()}, jax {package_version('jax')}")
    print(f"{'spec':28} {'measured':28} {'first run':>20} {'second run':>20} {'second/first':>20}  cache files")
    for spec, results in runs.items():
        for measure, label in MEASURES.items():
            first = [result[0][measure] for result in results]
            second = [result[1][measure] for result in results]
            ratios = [result[1][measure] / result[0][measure] for result in results]
            entries = statistics.median(result[2] for result in results)
            print(f"{spec.name:28} {label:28} {spread(first, 's'):>20} {spread(second, 's'):>20}"
                  f" {spread(ratios, 'x'):>20}  {entries:.0f}")
    if references:
        print(f"hand-written Flax per-step loop ({args.reference}), from process start: {spread(references, 's')}")
        for spec, results in runs.items():
            ratios = [result[0]["wall"] / seconds for result, seconds in zip(results, references, strict=True)]
            print(f"{spec.name:28} first run / hand-written, round by round: {spread(ratios, 'x')}")


if __name__ == "__main__":
    main()
