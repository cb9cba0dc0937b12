"""Benchmark: the whole job, side by side (docs/performance.md#the-whole-job).

    python bench/job.py --quick      # a smoke test, meant for <= 3 minutes on 2 idle cores: 1 round, few epochs
    python bench/job.py              # meant for <= 8 minutes: 3 rounds, the specs' epochs (the CNN: 20 of 40)
    python bench/job.py --rows mlp,csv --rounds 1 --out job.md

For each row, the same model, data, split, epochs and per-epoch validation on every side, each side one fresh
process a round, timed by this process from spawn to exit (interpreter start, imports, data, compilation,
training, validation, checkpoints and the final test evaluation are all in):

- dslc: `dslc train SPEC --epochs E --seed R --quiet --compile-cache off` in a fresh work directory, R the
  round's number from 0; its test accuracy is run.json's `test.accuracy` (the final parameters).
- dslc-warm: the same, but `--compile-cache` on a folder that one untimed `dslc train` of the spec (seed
  WARMING_SEED, which no round trains) filled before the rounds: a user's run of a spec they have run before.
  It loads its compiled programs (the initialisation takes the seed as an argument) instead of compiling them.
- flax, keras, torch: bench/job_peers.py (hand-written Flax NNX + optax; Keras 3 `fit(validation_data=...)` on
  JAX; PyTorch eager), trained on the same train/validation/test arrays, which dslc's own loader made for seed R
  before the rounds (untimed) and saved to an .npz file the peers load; they draw their initial weights, shuffles
  and dropout masks from R too. So each round is another split and initialisation on every side, and the median
  test accuracy is over seeds, not one draw repeated.

Rows: the digits MLP (examples/digits_mlp.yaml), the digits CNN (examples/digits_cnn.yaml), a tabular CSV model
(examples/breast_cancer.yaml; the CSV is written from scikit-learn's bundled copy into a temporary folder) and a
small transformer (bench/specs/job_transformer.yaml). Each spec runs from a copy in the temporary folder with its
early stopping (if any) removed, so every side trains the same number of epochs.

The rounds are interleaved and the sides' order rotates from round to round, so machine noise falls on every side
alike. The table gives medians (min-max) and, per row, whether dslc meets the target: wall time <= 0.8x the fastest
peer's at equal or better test accuracy (better, or at most ACCURACY_TOLERANCE below: the sides draw different
initial weights, shuffles and dropout masks). Prints the tables; --out also writes them to a file.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import math
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import HERE, ROOT, dslc_train, load_average, machine, package_version, run_child, spread
from job_peers import ROWS, Row
from job_peers import SIDES as PEERS

DSLC_SIDES = ("dslc", "dslc-warm")
SIDES = (*DSLC_SIDES, *PEERS)
PEER_MODULES = {"flax": "flax", "keras": "keras", "torch": "torch"}
TARGET = 0.8  # dslc's wall time over the fastest peer's, at most
GOAL = f"target <= {TARGET}x the fastest peer at equal or better accuracy"
ACCURACY_TOLERANCE = 0.01  # "equal" test accuracy: at most this far below (absolute)
WARMING_SEED = 1000  # the untimed run that fills the dslc-warm side's caches: a seed no round trains
PACKAGES = ("jax", "jaxlib", "flax", "optax", "keras", "torch", "numpy", "dslc")
PLANS = {"quick": (1, "quick_epochs"), "default": (3, "epochs")}  # rounds, the Row field giving the epochs
LABELS = {"dslc": "dslc train (CLI)", "dslc-warm": "dslc train (CLI), its caches warm",
          "flax": "Flax NNX + optax, jitted steps", "keras": "Keras 3 (JAX) fit", "torch": "PyTorch eager"}


# -- setting up (untimed) -------------------------------------------------------------------------------------
def check_spec(key: str, row: Row, spec: Any) -> None:
    """The peers' copy of the training settings must be the spec's (the epochs are the row's: every side is
    given them)."""
    train = spec.spec.train
    found = (train.optimizer.kind, train.batch, train.optimizer.lr, getattr(train.optimizer, "weight_decay", 0.0))
    wanted = ("adamw" if row.weight_decay else "adam", row.batch, row.lr, row.weight_decay)
    if found != wanted:
        sys.exit(f"row {key}: {row.spec} trains with (optimizer, batch, lr, weight decay) {found}, but "
                 f"bench/job_peers.py's ROWS says {wanted}")


def prepare(keys: list[str], folder: Path, rounds: int, epochs: dict[str, int]) -> dict[str, dict[str, Any]]:
    """For each row: the spec's copy to train (no early stopping), a folder with its split for each round's seed
    (<seed>.npz), its parameter count, and the compilation cache that one untimed `dslc train` with a seed no
    round uses left (the dslc-warm side's)."""
    import yaml

    from dslc import api

    if "csv" in keys:
        run_child([sys.executable, str(ROOT / "examples" / "write_data.py"), "breast_cancer", "--folder",
                   str(folder / "data")]).check("examples/write_data.py breast_cancer")
    prepared = {}
    for key in keys:
        row = ROWS[key]
        source = ROOT / row.spec
        check_spec(key, row, api.load(source))
        document = yaml.safe_load(source.read_text())
        document["train"].pop("early_stopping", None)
        spec = folder / f"{key}.yaml"  # data paths resolve in `folder`, where data/breast_cancer.csv is
        spec.write_text(yaml.safe_dump(document, sort_keys=False))
        splits = folder / key
        splits.mkdir()
        run_child([sys.executable, str(HERE / "job_peers.py"), "export", str(spec), str(splits),
                   *map(str, range(rounds))]).check(f"exporting {key}'s splits")
        cache = folder / f"{key}-cache"
        dslc_train(spec, epochs[key], cache=cache, extra=("--seed", str(WARMING_SEED), "--quiet"))
        prepared[key] = {"spec": spec, "splits": splits, "params": api.analyse(spec).totals.params, "cache": cache}
    return prepared


# -- one run --------------------------------------------------------------------------------------------------
def run_side(side: str, key: str, prepared: dict[str, Any], epochs: int, seed: int) -> dict[str, Any] | None:
    """One fresh process's {wall, test_accuracy, params, epochs, ...}: dslc's adds its time to the first step and
    its training window, a peer's its validation accuracy after each epoch. None if it failed."""
    if side in DSLC_SIDES:
        try:
            run = dslc_train(prepared["spec"], epochs, cache=prepared["cache"] if side == "dslc-warm" else "off",
                             extra=("--seed", str(seed), "--quiet"))
        except SystemExit as failure:  # dslc_train exits with the child's stderr: one failed run, not the bench
            print(f"  dslc on {key} failed: {failure}", file=sys.stderr)
            return None
        return {"wall": run["wall"], "test_accuracy": run["test"]["accuracy"], "params": prepared["params"],
                "epochs": run["epochs"], "last_loss": run["losses"][-1], "first_step": run["wall_to_first_step"],
                "train_seconds": run["train_seconds"], "loaded": run["programs_loaded"]}
    npz = prepared["splits"] / f"{seed}.npz"
    child = run_child([sys.executable, str(HERE / "job_peers.py"), side, key, str(npz), str(epochs), str(seed)],
                      env={"KERAS_BACKEND": "jax"})
    if child.returncode != 0:
        print(f"  {side} on {key} exited {child.returncode}:\n{child.stderr[-1500:]}", file=sys.stderr)
        return None
    result = child.last_json()
    return {**result, "wall": child.wall}


# -- showing --------------------------------------------------------------------------------------------------
def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def median(results: list[dict[str, Any]], field: str) -> float:
    return statistics.median(result[field] for result in results) if results else math.nan


def row_report(key: str, epochs: int, runs: dict[str, list[dict[str, Any] | None]],
               skipped: dict[str, str]) -> tuple[list[str], list[str]]:
    """The row's Markdown table and its target lines (one for each dslc side)."""
    row = ROWS[key]
    good = {side: [r for r in results if r is not None] for side, results in runs.items()}
    peers = [side for side in PEERS if good.get(side)]
    fastest = min(peers, key=lambda side: median(good[side], "wall")) if peers else None
    best = median(good[fastest], "wall") if fastest else math.nan
    lines = [f"### {row.title}, batch {row.batch}, {epochs} epochs (`{row.spec}`)", "",
             "| side | params | wall time s, median (min-max) | x fastest peer | test accuracy over the seeds |",
             "|---|---:|---:|---:|---:|"]
    for side in SIDES:
        label = LABELS[side] + (f", {good[side][0]['threads']} threads" if side == "torch" and good[side] else "")
        if side in skipped:
            lines.append(f"| {label} | | skipped: {skipped[side]} | | |")
            continue
        results = good[side]
        if not results:
            lines.append(f"| {label} | | failed (see the run's output) | | |")
            continue
        failed = len(runs[side]) - len(results)
        walls = [r["wall"] for r in results]
        ratio = f"{statistics.median(walls) / best:.2f}x" if fastest else "no peer"
        params = {r["params"] for r in results}
        lines.append(f"| {label}{' (fastest peer)' if side == fastest else ''} | "
                     f"{', '.join(f'{p:,}' for p in sorted(params))} | {spread(walls)}"
                     f"{f' ({failed} failed)' if failed else ''} | {ratio} | "
                     f"{spread([r['test_accuracy'] for r in results], '', 3)} |")
    if fastest is None:
        return lines + [""], [f"{LABELS[side]}: {GOAL}: not measured (every peer failed or was skipped)"
                              for side in DSLC_SIDES]
    targets = [_target(side, good[side], fastest, good[fastest]) for side in DSLC_SIDES]
    lines.append("")
    for side in DSLC_SIDES:
        if good[side]:
            lines.append(_breakdown(side, good[side]))
    return lines + [""], targets


def _breakdown(side: str, results: list[dict[str, Any]]) -> str:
    first, window = median(results, "first_step"), median(results, "train_seconds")
    rest = statistics.median(r["wall"] - r["first_step"] - r["train_seconds"] for r in results)
    loaded = sorted({name for r in results for name in r["loaded"]})
    return (f"{LABELS[side]}, medians: {first:.2f} s to the end of its first dispatch (interpreter, imports, data, "
            f"compilation or loading), {window:.2f} s of training after it (validation and checkpoints in), "
            f"{rest:.2f} s for the rest (test evaluation, last checkpoint, exit); programs loaded from its cache: "
            f"{', '.join(loaded) or 'none'}.")


def _target(side: str, results: list[dict[str, Any]], fastest: str, peer: list[dict[str, Any]]) -> str:
    if not results:
        return f"{LABELS[side]}: {GOAL}: not measured (its runs failed)"
    wall, accuracy = median(results, "wall"), median(results, "test_accuracy")
    best, peer_accuracy = median(peer, "wall"), median(peer, "test_accuracy")
    ratio = wall / best
    fast, accurate = ratio <= TARGET, accuracy >= peer_accuracy - ACCURACY_TOLERANCE
    why = [] if fast else [f"slower than {TARGET}x"]
    why += [] if accurate else [f"test accuracy more than {ACCURACY_TOLERANCE * 100:g} point below"]
    status = "met" if fast and accurate else f"**not met** ({'; '.join(why)})"
    return (f"{LABELS[side]}: {GOAL}: {status}: {ratio:.2f}x {LABELS[fastest]} ({wall:.2f} s / {best:.2f} s), "
            f"test accuracy {accuracy:.3f} against {peer_accuracy:.3f}")


def report(args: argparse.Namespace, keys: list[str], rounds: int, epochs: dict[str, int],
           runs: dict[str, dict[str, list]], skipped: dict[str, str], params_problems: list[str],
           loads: tuple[float, float], seconds: float) -> str:
    versions = ", ".join(f"{name} {package_version(name)}" for name in PACKAGES)
    command = " ".join(["python bench/job.py", *sys.argv[1:]])
    lines = ["# The whole job, side by side", "",
             f"Written by `{command}`, {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, "
             f"{seconds / 60:.1f} minutes.", "",
             f"- Machine: {machine()}.", f"- Versions: python {platform.python_version()}, {versions}.",
             f"- Load average (1 minute) at the start {loads[0]:.2f}, at the end {loads[1]:.2f}"
             + (": **other processes were loading the machine**; the figures are noisier and slower than on an idle "
                "one (the interleaving spreads the noise over every side)." if max(loads) > 1.5 else "."),
             f"- {plural(rounds, 'round')}, each side a fresh process a round, the order rotating. Wall time: from "
             "spawn to exit, measured by the parent. Test accuracy: of the final parameters on the test split, after "
             "validation on the validation split every epoch. Seeds: in round R (from 0) every side trains dslc's "
             "own split for seed R and draws its initial weights, shuffles and dropout masks from R.", ""]
    targets = []
    for key in keys:
        table, row_targets = row_report(key, epochs[key], runs[key], skipped)
        lines += table + [*(f"- {target}" for target in row_targets), ""]
        targets += [f"- {ROWS[key].title}, {target}" for target in row_targets]
    if params_problems:
        lines += ["**Problems:**", "", *[f"- {problem}" for problem in params_problems], ""]
    return "\n".join(lines + ["## Targets", "", *targets, ""])


# -- the run --------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 round, a few epochs: a smoke test")
    parser.add_argument("--rounds", type=int, help="rounds (default: 1 with --quick, else 3)")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated rows (default: {','.join(ROWS)})")
    parser.add_argument("--out", type=Path, help="also write the tables to this file")
    args = parser.parse_args()
    keys = [key.strip() for key in args.rows.split(",") if key.strip()]
    if unknown := [key for key in keys if key not in ROWS]:
        sys.exit(f"unknown rows {', '.join(unknown)} (one of {', '.join(ROWS)})")
    if importlib.util.find_spec("dslc") is None or importlib.util.find_spec("dslc.runtime") is None:
        sys.exit(f"{sys.executable} cannot import dslc's runtime: run with an interpreter where "
                 "`pip install -e '.[train,bench]'` installed this checkout")
    default_rounds, field = PLANS["quick" if args.quick else "default"]
    rounds = args.rounds or default_rounds
    epochs = {key: getattr(ROWS[key], field) for key in keys}
    skipped = {side: f"{module} is not installed (pip install -e '.[bench]')"
               for side, module in PEER_MODULES.items() if importlib.util.find_spec(module) is None}
    started, load_start = time.time(), load_average()
    print(f"{machine()}; load average {load_start:.2f}; {plural(rounds, 'round')}; epochs "
          + ", ".join(f"{key} {epochs[key]}" for key in keys), flush=True)
    for side, why in skipped.items():
        print(f"skipping {side}: {why}", flush=True)

    runs: dict[str, dict[str, list]] = {key: {side: [] for side in SIDES} for key in keys}
    with tempfile.TemporaryDirectory(prefix="dslc-job-") as folder:
        prepared = prepare(keys, Path(folder), rounds, epochs)
        for number in range(rounds):
            order = SIDES[number % len(SIDES):] + SIDES[:number % len(SIDES)]
            for key in keys:
                for side in order:  # interleaved, the order rotating: machine noise hits every side alike
                    if side in skipped:
                        continue
                    result = run_side(side, key, prepared[key], epochs[key], seed=number)
                    runs[key][side].append(result)
                    shown = (f"{result['wall']:6.2f} s, test accuracy {result['test_accuracy']:.3f}" if result
                             else "failed")
                    print(f"round {number + 1}/{rounds} {key:12} {side:6} {shown}", flush=True)
        problems = [f"{key}: {side} trains {result['params']:,} parameters, dslc {prepared[key]['params']:,}"
                    for key in keys for side in SIDES for result in runs[key][side]
                    if result is not None and result["params"] != prepared[key]["params"]]
        problems += [f"{key}: {side} ran {result['epochs']} epochs, not {epochs[key]}"
                     for key in keys for side in SIDES for result in runs[key][side]
                     if result is not None and result["epochs"] != epochs[key]]
    text = report(args, keys, rounds, epochs, runs, skipped, problems, (load_start, load_average()),
                  time.time() - started)
    print()
    print(text)
    if args.out:
        args.out.write_text(text)
        print(f"written to {args.out}")
    if problems:
        sys.exit("the sides do not train the same job:\n" + "\n".join(problems))


if __name__ == "__main__":
    main()
