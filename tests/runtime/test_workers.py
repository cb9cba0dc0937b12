"""`dslc train --workers N`: batches made in worker processes (an image folder's, a memory-mapped .npy file's, a
text folder's) train the same parameters as the loop's own, and a run with workers killed at a random moment
(SIGKILL) resumes to them bit for bit, its workers gone with it. Driven as a user would, on
examples/digits_folder.yaml's folder and small files written by the tests: `dslc` in subprocesses wherever workers
start or a run is killed, in the test's process (tests/cli_helpers.py) for runs without workers."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from tests.cli_helpers import dslc

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
RUN = ("--epochs", "3", "--seed", "3")  # 20 steps an epoch, a checkpoint every 5 (mid-epoch and at its end)
TRIALS = int(os.environ.get("DSLC_FAULT_TRIALS", "10"))


def dslc_process(*args: str) -> subprocess.CompletedProcess[str]:
    """`dslc` in a process of its own: its workers are that process' children, as a user's would be."""
    return subprocess.run([sys.executable, "-m", "dslc", *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory, write_data: ModuleType) -> Path:
    folder = tmp_path_factory.mktemp("images")
    (folder / "data").mkdir()
    write_data.digits_folder(folder / "data")
    path = folder / "digits_folder.yaml"
    path.write_text((EXAMPLES / "digits_folder.yaml").read_text() + "  checkpoint: {every: 5, keep: 2}\n")
    return path


@pytest.fixture(scope="module")
def baseline(spec: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run without workers."""
    workdir = tmp_path_factory.mktemp("runs") / "baseline"
    result = dslc("train", str(spec), *RUN, "--workdir", str(workdir), "--quiet")
    assert result.returncode == 0, result.stderr
    return workdir


def outcome(workdir: Path) -> tuple[str, list[dict]]:
    """The run's final parameters' fingerprint and every metric it logged."""
    summary = json.loads((workdir / "run.json").read_text())
    return summary["parameters_sha256"], [json.loads(line) for line in (workdir / "metrics.jsonl").read_text()
                                          .splitlines()]


def committed(workdir: Path) -> list[int]:
    return sorted(int(p.name) for p in (workdir / "checkpoints").glob("[0-9]*")
                  if p.name.isdigit() and (p / "commit_success.txt").exists())


def children(pid: int) -> list[int]:
    """The processes `pid` started (Linux's /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
    return found


def test_workers_make_the_same_batches(spec: Path, baseline: Path, tmp_path: Path) -> None:
    result = dslc_process("train", str(spec), *RUN, "--workdir", str(tmp_path / "run"), "--quiet", "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert outcome(tmp_path / "run") == outcome(baseline)


def kill_and_resume(spec: Path, baseline: Path, workdir: Path, rng: random.Random) -> None:
    process = subprocess.Popen([sys.executable, "-m", "dslc", "train", str(spec), *RUN, "--workdir", str(workdir),
                                "--quiet", "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not committed(workdir) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 1.0))
    workers = children(process.pid)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)  # each worker checks every second that its parent still runs
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers), "a worker outlived the killed run"
    result = dslc_process("train", str(spec), *RUN, "--workdir", str(workdir), "--quiet", "--workers", "2",
                          "--resume")
    assert result.returncode == 0, result.stderr
    assert outcome(workdir)[0] == outcome(baseline)[0]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux's /proc")
def test_a_run_with_workers_killed_at_random_resumes_exactly(spec: Path, baseline: Path, tmp_path: Path) -> None:
    """One kill at a random moment after the first checkpoint; `pytest -m fuzz` runs many (below)."""
    kill_and_resume(spec, baseline, tmp_path / "killed", random.Random(0))


@pytest.mark.fuzz
def test_kill_trials_on_demand(spec: Path, baseline: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """`pytest -m fuzz tests/runtime/test_workers.py` (DSLC_FAULT_TRIALS=N, default 10)."""
    expression = request.config.getoption("-m") or ""
    if "fuzz" not in expression or "not fuzz" in expression:
        pytest.skip("a long fault-injection run: select it with -m fuzz")
    rng = random.Random()
    for trial in range(TRIALS):
        kill_and_resume(spec, baseline, tmp_path / str(trial), rng)


TEXT_SPEC = """dslc 1
model lm(tokens: int32[8]) {
  embedding(256, 8)
  dense(256)
}
train {
  loss = softmax_cross_entropy
  optimizer = adam(0.01)
  batch = 16
  epochs = 2
  data = text("corpus", stride=4)
}
"""


def test_workers_read_text_folders_alike(tmp_path: Path) -> None:
    """The split crosses to each worker as its file paths (mapped again there) and gives the loop's batches. (A
    memory-mapped .npy split crosses the same way: tests/runtime/test_arrays.py pickles one.)"""
    rng = np.random.default_rng(0)
    (tmp_path / "corpus" / "part").mkdir(parents=True)
    for name in ("a.txt", "part/b.txt"):
        (tmp_path / "corpus" / name).write_bytes(rng.integers(97, 123, 900, np.uint8).tobytes())
    spec = tmp_path / "spec.dsl"
    spec.write_text(TEXT_SPEC)
    with_workers = subprocess.Popen([sys.executable, "-m", "dslc", "train", str(spec), "--workdir",
                                     str(tmp_path / "1"), "--quiet", "--workers", "2"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    without = dslc("train", str(spec), "--workdir", str(tmp_path / "0"), "--quiet")  # meanwhile, in this process
    _, stderr = with_workers.communicate(timeout=300)
    for returncode, errors in ((with_workers.returncode, stderr), (without.returncode, without.stderr)):
        assert returncode == 0, errors
        assert "--workers applies" not in errors
    assert outcome(tmp_path / "1") == outcome(tmp_path / "0")


def test_workers_say_when_the_data_is_not_decoded(tmp_path: Path) -> None:
    result = dslc("train", str(EXAMPLES / "digits_mlp.yaml"), "--epochs", "1", "--workdir", str(tmp_path / "run"),
                  "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert ("dslc: note: --workers applies to data read or decoded per batch (image folders, .npy files, text); "
            "data 'digits' is held in memory and gathered by the training loop") in result.stderr
