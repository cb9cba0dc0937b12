"""Benchmark: the image-folder input pipeline against the jitted train step that consumes it.

    python bench/image_pipeline.py              # 5 rounds
    python bench/image_pipeline.py --rounds 3

The data is examples/digits_folder.yaml's folder (scikit-learn's digits as 8x8 PNG files, written into a
temporary folder by examples/write_data.py). Measured in one process, one epoch of train batches per round:

- decode + augment: every batch decodes its PNG files (no cache: a folder larger than memory), then augments;
- cached + augment: later epochs of a folder that fits the cache (decoded pixels kept), augmenting only;
- decode + augment in 1 or 2 worker processes (`dslc train --workers N`; the processes keep no cache);
- train step: the spec's jitted step on one batch already on the device.

Every pipeline row is `dslc.runtime.pipeline`, the Grain pipeline `dslc train` runs. Prints examples/s medians
(min-max) and each pipeline's ratio to the step: below 1, the pipeline (run in the training process between
dispatches, or by the workers) cannot keep the device busy.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "digits_folder.yaml"
STEPS = 200  # timed train steps per round
EPOCHS_PER_ROUND = 5  # epochs timed in a row from the worker processes: long enough that read-ahead does not count


def write_folder(folder: Path) -> Path:
    """The example spec and its image folder in `folder`; returns the spec's path."""
    spec = importlib.util.spec_from_file_location("write_data", ROOT / "examples" / "write_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (folder / "data").mkdir()
    module.digits_folder(folder / "data")
    shutil.copy(EXAMPLE, folder / EXAMPLE.name)
    return folder / EXAMPLE.name


def pipeline_rate(spec: Path, workers: int, rounds: int, cached: bool = False) -> list[float]:
    """examples/s of the training pipeline's augmented train batches (`dslc.runtime.pipeline`, made by `workers`
    processes or, with 0, in this one), per round of `EPOCHS_PER_ROUND` epochs; the first epoch (starting the
    processes, filling the cache) is not timed."""
    from dslc import api
    from dslc.runtime import images
    from dslc.runtime.chunks import chunks
    from dslc.runtime.data import load_dataset
    from dslc.runtime.pipeline import ChunkSource, close, items
    from dslc.runtime.session import steps_per_epoch

    loaded = api.load(spec)
    limit = images.CACHE_BYTES
    images.CACHE_BYTES = limit if cached else 0
    try:
        dataset = load_dataset(loaded, api.analyse(loaded), seed=0)
    finally:
        images.CACHE_BYTES = limit
    batch = loaded.spec.train.batch  # type: ignore[union-attr]
    per_epoch = chunks(steps_per_epoch(dataset, batch), 1)
    source = ChunkSource(dataset, per_epoch, 1 + rounds * EPOCHS_PER_ROUND, 0, batch=batch, seed=0)
    batches = items(source, workers)
    try:
        for _ in per_epoch:
            next(batches)
        return [_rate(lambda: sum(len(next(batches).weight) for _ in per_epoch * EPOCHS_PER_ROUND))
                for _ in range(rounds)]
    finally:
        close(batches)


def step_rate(spec: Path, rounds: int) -> list[float]:
    """examples/s of the spec's jitted train step on one device-resident batch, per round."""
    import jax
    import numpy as np

    from dslc import api
    from dslc.compiler.steps import Batch
    from dslc.runtime.data import load_dataset

    compiled = api.compile(spec)
    dataset = load_dataset(compiled.spec, compiled.analysis, seed=0)
    batch = compiled.spec.spec.train.batch
    inputs, target = dataset.gather("train", np.arange(batch), 1)
    device_batch = jax.device_put(Batch(inputs, target, np.ones(batch, np.float32)))
    state, metrics = compiled.steps.train(compiled.state, device_batch)  # compiles
    jax.block_until_ready(metrics)

    def run() -> int:
        nonlocal state, metrics
        for _ in range(STEPS):
            state, metrics = compiled.steps.train(state, device_batch)
        jax.block_until_ready(metrics)
        return STEPS * batch

    return [_rate(run) for _ in range(rounds)]


def _rate(run: Callable[[], int]) -> float:
    start = time.perf_counter()
    examples = run()
    return examples / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        spec = write_folder(Path(folder))
        rows = {"decode + augment (nothing cached)": pipeline_rate(spec, 0, args.rounds),
                "cached + augment (later epochs)": pipeline_rate(spec, 0, args.rounds, cached=True),
                **{f"decode + augment, {n} worker process(es)": pipeline_rate(spec, n, args.rounds) for n in (1, 2)},
                "train step (jitted, batch on device)": step_rate(spec, args.rounds)}
    import jax

    from dslc import api

    batch = api.load(EXAMPLE).spec.train.batch  # type: ignore[union-attr]
    step = statistics.median(rows["train step (jitted, batch on device)"])
    print(f"{EXAMPLE.name}, batch {batch}, {jax.devices()[0].device_kind}, medians of {args.rounds} rounds\n")
    print(f"| {'stage':<38} | {'examples/s (min-max)':<28} | {'/ train step':>12} |")
    print(f"|{'-' * 40}|{'-' * 30}|{'-' * 14}|")
    for name, rates in rows.items():
        median = statistics.median(rates)
        shown = f"{median:,.0f} ({min(rates):,.0f}-{max(rates):,.0f})"
        print(f"| {name:<38} | {shown:<28} | {median / step:>12.2f} |")


if __name__ == "__main__":
    main()
