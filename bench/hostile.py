"""Benchmark: the wall-clock cost of rejecting hostile input, one fresh `python -m dslc check` process per file.

    python bench/hostile.py            # every file of the corpus, 3 rounds
    python bench/hostile.py --rounds 1 --top 10

The corpus is the test suite's (tests/spec/test_hostile_corpus.py): the committed files under
tests/fixtures/hostile and the generated ones, written into a temporary folder. The test bounds what each file
costs in CPU time, whatever else the machine is doing; this prints what a user waits for: wall time from spawn to
exit, Python's start-up and dslc's imports included, medians (min-max) over interleaved rounds, with the CPU time
and peak memory beside it, against `python -m dslc check` on a valid example as the floor. The target
(docs/safety.md): every file under 2 s of wall time and 500 MB on an idle machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
from pathlib import Path

from common import ROOT, load_average, machine, package_version, run_child, spread

CORPUS_MODULE = ROOT / "tests" / "spec" / "test_hostile_corpus.py"
WALL_TARGET = 2.0  # seconds
MEMORY_TARGET = 500 * 2**20  # bytes


def corpus(folder: Path) -> list[Path]:
    """The committed files and the generated ones (written under `folder`)."""
    spec = importlib.util.spec_from_file_location("hostile_corpus", CORPUS_MODULE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    paths = list(module.COMMITTED)
    for number, case in enumerate(module.GENERATED):
        place = folder / str(number)
        (place / "canaries").mkdir(parents=True)
        path = place / case.name
        path.write_bytes(case.content(place / "canaries"))
        paths.append(path)
    return paths


def check(path: Path, cwd: Path) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, peak bytes) of `python -m dslc check PATH`; it must reject the file."""
    child = run_child([sys.executable, "-m", "dslc", "check", str(path)], env={"PYTHONDONTWRITEBYTECODE": "1"},
                      cwd=cwd)
    if child.returncode != 2 and path.parent != ROOT / "examples":
        sys.exit(f"{path}: exit code {child.returncode}, expected 2:\n{child.stderr[-2000:]}")
    return child.wall, child.cpu, child.peak_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--top", type=int, default=15, help="show the slowest N files (0: all)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryDirectory() as cwd:
        paths = [ROOT / "examples" / "digits_cnn.yaml", *corpus(Path(folder))]
        figures: dict[Path, list[tuple[float, float, int]]] = {path: [] for path in paths}
        for _ in range(args.rounds):  # interleaved: each round runs every file once
            for path in paths:
                figures[path].append(check(path, Path(cwd)))

    def median_wall(path: Path) -> float:
        return statistics.median(wall for wall, _, _ in figures[path])

    floor = median_wall(paths[0])
    ranked = sorted(paths[1:], key=median_wall, reverse=True)
    shown = ranked[:args.top] if args.top else ranked
    print(f"# dslc check on hostile input: {len(ranked)} files, {args.rounds} rounds")
    print(f"{machine()}; Python {sys.version.split()[0]}, PyYAML {package_version('pyyaml')}, "
          f"lark {package_version('lark')}; load average {load_average():.2f}\n")
    print("| file | wall, s | CPU, s | peak, MB | wall / valid example |")
    print("|---|---|---|---|---|")
    for path in [paths[0], *shown]:
        walls = [wall for wall, _, _ in figures[path]]
        cpus = [cpu for _, cpu, _ in figures[path]]
        peak = max(peak for _, _, peak in figures[path])
        name = "(valid) examples/digits_cnn.yaml" if path == paths[0] else path.name
        print(f"| {ascii(name)[1:-1]} | {spread(walls)} | {spread(cpus)} | {peak / 2**20:.0f} | "
              f"{median_wall(path) / floor:.2f}x |")
    slow = [path for path in ranked if median_wall(path) >= WALL_TARGET]
    heavy = [path for path in ranked if max(peak for _, _, peak in figures[path]) >= MEMORY_TARGET]
    print(f"\nmedian over all files: {statistics.median(median_wall(path) for path in ranked):.2f} s wall; "
          f"{len(slow)} file(s) at or over {WALL_TARGET:.0f} s, {len(heavy)} at or over "
          f"{MEMORY_TARGET >> 20} MB (target: none of either on an idle machine)")


if __name__ == "__main__":
    main()
