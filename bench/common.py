"""What the benchmarks share: the reference workloads (docs/performance.md), their random data, fresh-process runs
and how figures are shown.

The scripts in bench/ run as `python bench/SCRIPT.py`, so this folder is on `sys.path` and they import each
other by module name. Nothing here imports JAX at module level: the parent processes that only time children
stay light.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPECS = HERE / "specs"
CLASSES = 10


@dataclass(frozen=True)
class Workload:
    """A reference workload (docs/performance.md#reference-workloads), as its spec in bench/specs/ trains it."""

    name: str  # the spec's file stem
    title: str
    shape: tuple[int, ...]  # one example, channels last
    batch: int
    train_examples: int  # the spec's synthetic samples, 80% of them in the train split
    params: int  # the stated count: every side must train exactly this many
    scan: int  # steps per dispatch of the hand-written `lax.scan` loop
    unroll: int = 1  # its scan unroll (XLA CPU runs a rolled conv scan body 5x slower: docs/performance.md)

    @property
    def spec(self) -> Path:
        return SPECS / f"{self.name}.yaml"

    @property
    def steps_per_epoch(self) -> int:
        """dslc's steps an epoch (the last batch padded with weight-0 examples); Keras and PyTorch run as many."""
        return math.ceil(self.train_examples / self.batch)


WORKLOADS = {
    "w1": Workload("w1_mlp", "W1 MLP 784-512-512-10, batch 128", (784,), 128, 8_000, 669_706, scan=64),
    "w2": Workload("w2_cnn", "W2 CNN conv32-pool-conv64-pool-128-10, batch 128", (28, 28, 1), 128, 8_000, 225_034,
                   scan=10, unroll=10),
    "w3": Workload("w3_tiny_mlp", "W3 tiny MLP 64-32-10, batch 32", (64,), 32, 80_000, 2_410, scan=64),
}


def random_data(workload: Workload, seed: int = 0) -> tuple[Any, Any]:
    """Host arrays like the spec's `synthetic: {task: random}` train split: standard normal inputs, uniform labels."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((workload.train_examples, *workload.shape), dtype=np.float32)
    y = rng.integers(0, CLASSES, workload.train_examples, dtype=np.int32)
    return x, y


def batch_indices(examples: int, batch: int, seed: int = 0) -> Iterator[Any]:
    """Row indices of full batches without end, a fresh shuffle each epoch (a ragged last batch is dropped, so a
    jitted step sees one shape)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(examples)
        for start in range(0, examples - batch + 1, batch):
            yield order[start:start + batch]


# -- fresh processes ------------------------------------------------------------------------------------------
@dataclass
class Child:
    """A finished child process: its output, exit status, spawn time (unix) and peak resident memory."""

    returncode: int
    stdout: str
    stderr: str
    started: float
    peak_bytes: int
    wall: float
    cpu: float  # seconds of user + system time, the child's and its reaped descendants'

    def check(self, what: str) -> Child:
        if self.returncode != 0:
            sys.exit(f"{what} exited {self.returncode}:\n{self.stderr[-3000:]}")
        return self

    def last_json(self) -> dict[str, Any]:
        return json.loads(self.stdout.strip().splitlines()[-1])


def run_child(command: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> Child:
    """Runs `command` to its end; the peak memory is the child's ru_maxrss from wait4 (its own and reaped
    descendants'), so a child's memory is never mixed with another's."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started, clock = time.time(), time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True, cwd=cwd,
                                   env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - clock
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        out.seek(0)
        err.seek(0)
        return Child(process.returncode, out.read(), err.read(), started, usage.ru_maxrss * 1024, wall,
                     usage.ru_utime + usage.ru_stime)


def dslc_train(spec: Path, epochs: int, cache: Path | str = "off", extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """`dslc train SPEC --epochs E --compile-cache CACHE [EXTRA...]` in a fresh process and a fresh work directory.

    Returns run.json plus: `wall` (seconds from spawn to exit), `steps_per_s` (run.json's `timed_steps` over
    `train_seconds`: both start when the first dispatch ends, so its `fuse` steps and the compilation are left
    out), the train losses of each epoch,
    `wall_to_first_step` (from the moment before the process was spawned, so interpreter start and imports are
    in) and `peak_bytes`.
    """
    with tempfile.TemporaryDirectory() as workdir:
        command = [sys.executable, "-m", "dslc", "train", str(spec), "--epochs", str(epochs),
                   "--workdir", workdir, "--compile-cache", str(cache), *extra]
        child = run_child(command).check(f"dslc train {spec.name}")
        work = Path(workdir)
        run = json.loads((work / "run.json").read_text())
        records = [json.loads(line) for line in (work / "metrics.jsonl").read_text().splitlines()]
    run["losses"] = [record["loss"] for record in records if record["split"] == "train"]
    run["steps_per_s"] = run["timed_steps"] / run["train_seconds"] if run["train_seconds"] else math.nan
    run["wall_to_first_step"] = run["first_step_at"] - child.started
    run["wall"] = child.wall
    run["peak_bytes"] = child.peak_bytes
    return run


# -- showing figures ------------------------------------------------------------------------------------------
def spread(values: list[float], unit: str = "", digits: int = 2) -> str:
    """'median (min-max)'."""
    return (f"{statistics.median(values):,.{digits}f}{unit} "
            f"({min(values):,.{digits}f}-{max(values):,.{digits}f})")


def rate_digits(value: float) -> int:
    return 0 if value >= 1000 else 1 if value >= 10 else 2


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def machine() -> str:
    """'CPU model, N cores'."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores ({platform.machine()}, {platform.system()} {platform.release()})"


def load_average() -> float:
    return os.getloadavg()[0]
