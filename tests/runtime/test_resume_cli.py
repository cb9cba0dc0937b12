"""Checkpoints, resume after SIGKILL and Ctrl-C, fault injection, work-directory safety, eval, early stopping,
TensorBoard.

Every test drives `dslc` as a user would, on scikit-learn's bundled digits: runs that are killed, interrupted or
limited by the shell in subprocesses, every other command in the test's process (tests/cli_helpers.py).
"""

from __future__ import annotations

import json
import os
import random
import shlex
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.cli_helpers import dslc

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
# digits_mlp: 20 steps per epoch. Fused 4 at a time, a checkpoint every 30 steps falls both in
# the middle of epochs (step 32, 92, ...) and on their ends (60, 120, ...).
RUN = ("--epochs", "30", "--fuse", "4", "--seed", "3")


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "dslc", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def records(workdir: Path) -> list[dict]:
    return [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]


def committed(folder: Path) -> list[int]:
    return sorted(int(p.name) for p in folder.glob("[0-9]*")
                  if p.name.isdigit() and (p / "commit_success.txt").exists())


def final_arrays(workdir: Path) -> dict[str, np.ndarray]:
    """The last checkpoint's arrays, read straight from orbax's files (no dslc code involved)."""
    import orbax.checkpoint as ocp

    step = committed(workdir / "checkpoints")[-1]
    tree = ocp.StandardCheckpointer().restore(workdir / "checkpoints" / str(step) / "state")
    leaves = {}
    for path, leaf in __import__("jax").tree_util.tree_leaves_with_path(tree):
        leaves["/".join(str(p) for p in path)] = np.asarray(leaf)
    return leaves


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "mlp.yaml"
    text = (EXAMPLES / "digits_mlp.yaml").read_text()
    text = text.replace("  early_stopping: {patience: 8, monitor: accuracy}\n", "")
    # Two micro-batches per batch (accumulate): a resumed run repeats them exactly too.
    path.write_text(text + "  checkpoint: {every: 30, keep: 2, best: accuracy}\n  accumulate: 2\n")
    return path


def trained(spec: Path, run: tuple[str, ...], workdir: Path) -> Path:
    """The work directory of an uninterrupted `dslc train` run: what interrupted runs must end equal to."""
    result = dslc("train", str(spec), *run, "--workdir", str(workdir))
    assert result.returncode == 0, result.stderr
    return workdir


@pytest.fixture(scope="module")
def uninterrupted(spec: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained(spec, RUN, tmp_path_factory.mktemp("runs") / "whole")


def assert_same_run(a: Path, b: Path) -> None:
    assert records(a) == records(b)  # every loss and metric value, bit for bit
    left, right = final_arrays(a), final_arrays(b)
    assert left.keys() == right.keys() and len(left) > 5
    for name in left:
        assert left[name].dtype == right[name].dtype and left[name].tobytes() == right[name].tobytes(), name


def test_a_run_killed_at_a_random_moment_resumes_to_the_same_parameters(spec: Path, uninterrupted: Path,
                                                                          tmp_path: Path) -> None:
    workdir = tmp_path / "killed"
    process = start("train", str(spec), *RUN, "--workdir", str(workdir))
    deadline = time.monotonic() + 120
    while not committed(workdir / "checkpoints") and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    time.sleep(random.uniform(0.0, 0.5))
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    steps = committed(workdir / "checkpoints")
    assert steps and steps[-1] < 600
    result = dslc("train", str(spec), *RUN, "--workdir", str(workdir), "--resume")
    assert result.returncode == 0, result.stderr
    assert f"resuming at step {steps[-1]}" in result.stderr
    assert_same_run(uninterrupted, workdir)


def test_ctrl_c_saves_a_checkpoint_and_the_resumed_run_matches(spec: Path, uninterrupted: Path,
                                                               tmp_path: Path) -> None:
    workdir = tmp_path / "interrupted"
    process = start("train", str(spec), *RUN, "--workdir", str(workdir))
    deadline = time.monotonic() + 120
    while not (workdir / "metrics.jsonl").exists() or not records(workdir):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "checkpoint saved" in stderr and "--resume" in stderr and "Traceback" not in stderr
    saved = committed(workdir / "checkpoints")[-1]
    assert 0 < saved < 600
    result = dslc("train", str(spec), *RUN, "--workdir", str(workdir), "--resume")
    assert result.returncode == 0, result.stderr
    assert_same_run(uninterrupted, workdir)


def test_eval_reports_the_checkpoints_metrics(spec: Path, uninterrupted: Path) -> None:
    result = dslc("eval", str(spec), "--checkpoint", str(uninterrupted), "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    summary = json.loads((uninterrupted / "run.json").read_text())
    assert report["step"] == 600 and report["split"] == "test"
    assert report["metrics"] == pytest.approx(summary["test"], rel=1e-6)
    assert report["metrics"]["accuracy"] > 0.9
    best = dslc("eval", str(spec), "--checkpoint", str(uninterrupted / "best"), "--split", "validation")
    assert best.returncode == 0, best.stderr
    validation = [r["accuracy"] for r in records(uninterrupted) if r["split"] == "validation"]
    assert f"accuracy {max(validation):.4f}" in best.stdout  # best/ holds the best validation accuracy
    missing = dslc("eval", str(spec), "--checkpoint", str(uninterrupted / "checkpoints" / "999"))
    assert missing.returncode == 2 and "error[E804]" in missing.stderr


def _events(folder: Path) -> list[tuple[str, int, float]]:
    """(tag, step, value) of every scalar in TensorBoard event files (TFRecord framing)."""
    from tensorboardX.proto.event_pb2 import Event

    found = []
    for path in sorted(folder.glob("events.out.tfevents.*")):
        data = path.read_bytes()
        offset = 0
        while offset < len(data):
            (length,) = struct.unpack("<Q", data[offset:offset + 8])
            event = Event.FromString(data[offset + 12:offset + 12 + length])
            offset += 12 + length + 4
            found += [(value.tag, event.step, value.simple_value) for value in event.summary.value]
    return found


def test_tensorboard_events_match_metrics_jsonl(uninterrupted: Path) -> None:
    events = {(tag, step): value for tag, step, value in _events(uninterrupted / "tensorboard")}
    history = records(uninterrupted)
    assert len(events) == sum(len(r) - 3 for r in history)
    for record in history:
        for name in set(record) - {"epoch", "step", "split"}:
            assert events[(f"{record['split']}/{name}", record["step"])] == pytest.approx(record[name], rel=1e-6)


# -- fault injection --------------------------------------------------------------------------
# A checkpoint after every chunk of 4 steps: most of the run is spent writing checkpoints, so kills
# land in the middle of writes as well as between them.
BUSY = ("--epochs", "8", "--fuse", "4", "--seed", "5")
LONG_TRIALS = int(os.environ.get("DSLC_FAULT_TRIALS", "20"))


@pytest.fixture(scope="module")
def busy_spec(spec: Path) -> Path:
    path = spec.with_name("busy.yaml")
    path.write_text(spec.read_text().replace("checkpoint: {every: 30, keep: 2, best: accuracy}",
                                             "checkpoint: {every: 4, keep: 2, best: accuracy}"))
    return path


@pytest.fixture(scope="module")
def busy_baseline(busy_spec: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained(busy_spec, BUSY, tmp_path_factory.mktemp("runs") / "busy")


def writing(workdir: Path) -> bool:
    """A checkpoint is being written: orbax's temporary folder exists."""
    return any(workdir.glob("*/*.orbax-checkpoint-tmp*"))


def kill_and_resume(spec: Path, baseline: Path, workdir: Path, rng: random.Random, mid_write: bool) -> bool:
    """Kill a run (mid-write, or at a random moment), resume it, compare; True if the kill caught a write."""
    process = start("train", str(spec), *BUSY, "--workdir", str(workdir))
    deadline = time.monotonic() + 120
    while not committed(workdir / "checkpoints") and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    if mid_write:
        while not writing(workdir) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
    else:
        time.sleep(rng.uniform(0.0, 2.0))
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    caught_write = writing(workdir)
    last = committed(workdir / "checkpoints")[-1]
    result = dslc("train", str(spec), *BUSY, "--workdir", str(workdir), "--resume")
    assert result.returncode == 0, result.stderr
    assert f"resuming at step {last} of" in result.stderr  # the last committed step, never a partial one
    assert_same_run(baseline, workdir)
    return caught_write


def test_sigkill_during_training_and_checkpoint_writes(busy_spec: Path, busy_baseline: Path, tmp_path: Path) -> None:
    rng = random.Random(0)
    for trial, mid_write in enumerate((True, False)):  # a kill mid-write and one between writes
        kill_and_resume(busy_spec, busy_baseline, tmp_path / str(trial), rng, mid_write)


@pytest.mark.fuzz
def test_sigkill_trials_on_demand(busy_spec: Path, busy_baseline: Path, tmp_path: Path,
                                  request: pytest.FixtureRequest) -> None:
    """`pytest -m fuzz tests/runtime/test_resume_cli.py` (DSLC_FAULT_TRIALS=N, default 20)."""
    expression = request.config.getoption("-m") or ""
    if "fuzz" not in expression or "not fuzz" in expression:
        pytest.skip("a long fault-injection run: select it with -m fuzz")
    rng = random.Random()
    caught = sum(kill_and_resume(busy_spec, busy_baseline, tmp_path / str(trial), rng, mid_write=trial % 2 == 0)
                 for trial in range(LONG_TRIALS))
    print(f"{LONG_TRIALS} kill-and-resume trials passed; {caught} killed a checkpoint write in progress")


def test_a_full_disk_is_a_clear_error_and_keeps_the_last_checkpoint(spec: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "run"
    assert dslc("train", str(spec), "--epochs", "1", "--workdir", str(workdir)).returncode == 0

    # files over 30 KiB cannot be written: what a full disk looks like to a writer (bash's ulimit, not
    # preexec_fn: this process has JAX's threads, and fork() with threads can deadlock)
    command = shlex.join([sys.executable, "-m", "dslc", "train", str(spec), "--epochs", "3", "--workdir", str(workdir),
                        "--resume", "--compile-cache", "off"])
    full = subprocess.run(["bash", "-c", f"ulimit -f 30 && exec {command}"], capture_output=True, text=True,
                          timeout=600)
    assert full.returncode == 2, full.stderr
    assert "error[E806]" in full.stderr and "the last committed checkpoint (step 20) is intact" in full.stderr
    assert "Traceback" not in full.stderr
    assert committed(workdir / "checkpoints") == [20]
    evaluated = dslc("eval", str(spec), "--checkpoint", str(workdir))
    assert evaluated.returncode == 0 and "step 20" in evaluated.stdout


def test_an_unwritable_work_directory_is_a_clear_error(spec: Path, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    for workdir in (tmp_path / "a-file" / "run", Path("/proc/dslc-cannot-write-here")):
        result = dslc("train", str(spec), "--epochs", "1", "--workdir", str(workdir))
        assert result.returncode == 2 and "error[E806]" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
