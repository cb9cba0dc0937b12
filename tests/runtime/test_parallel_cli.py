"""Data parallelism over local devices: 8 CPU devices (XLA's host-platform device count) against one,
with the state replicated or sharded (`--shard-params`).

JAX reads XLA_FLAGS when it starts, so every run on 8 devices is a `dslc train` subprocess with its own flags (the
suite's compile-time flags from tests/conftest.py and the device count); one-device runs are `dslc` in the test's
process (tests/cli_helpers.py), which has one CPU device.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.cli_helpers import dslc as in_process

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
EIGHT = "--xla_force_host_platform_device_count=8"


def flags(devices: int) -> dict[str, str]:
    """The environment of a `dslc` subprocess on `devices` CPU devices (1 or 8)."""
    given = [flag for flag in os.environ.get("XLA_FLAGS", "").split() if "device_count" not in flag]
    return {**os.environ, "XLA_FLAGS": " ".join(given + ([EIGHT] if devices == 8 else []))}


def dslc(*args: str, devices: int = 1) -> subprocess.CompletedProcess[str]:
    if devices == 1:
        return in_process(*args)
    return subprocess.run([sys.executable, "-m", "dslc", *args], capture_output=True, text=True, timeout=600,
                          env=flags(devices))


def values(workdir: Path) -> list[tuple[str, float]]:
    """(name, value) of every metric the run logged, in order."""
    records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    return [(name, record[name]) for record in records for name in sorted(record)
            if name not in ("epoch", "step", "split")]


# The digits example's validation split: round(1,797 x 0.1) examples.
VALIDATION_EXAMPLES = 180


# Runs on other device layouts sum gradients in another order. Each run is deterministic, but the rounding
# differences grow through the steps: Adam divides each gradient by its own running scale, so a parameter whose
# gradient is near zero moves by a good part of lr = 1e-3 on a difference of 1e-9. Measured on the CNN example
# after 20 steps, 1 against 8 devices: losses differ by 1e-5 relative; single parameters by up to 3.3e-3, each
# array (parameters, Adam's moments) by up to 2.3% of its norm.
LOSS_TOLERANCE = 1e-4  # relative
ARRAY_TOLERANCE = 0.05  # the norm of the difference over the norm of the array


def assert_same_metrics(first: list[tuple[str, float]], second: list[tuple[str, float]]) -> None:
    """Losses within `LOSS_TOLERANCE`; an accuracy may differ by one validation example (one whose two best
    classes tie to 1e-6 can flip), no more."""
    assert [name for name, _ in first] == [name for name, _ in second]
    for (name, a), (_, b) in zip(first, second, strict=True):
        if name == "accuracy":
            assert abs(a - b) <= 1 / VALIDATION_EXAMPLES + 1e-9, (name, a, b)
        else:
            assert a == pytest.approx(b, rel=LOSS_TOLERANCE), (name, a, b)


def assert_same_arrays(first: Path, second: Path) -> None:
    """The two runs' final parameters and optimiser state, each array within `ARRAY_TOLERANCE` of the other."""
    for a, b in zip(final_arrays(first), final_arrays(second), strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        assert np.linalg.norm(a - b) <= ARRAY_TOLERANCE * np.linalg.norm(b) + 1e-12, (a.shape, a, b)


def final_arrays(workdir: Path) -> list[np.ndarray]:
    import jax
    import orbax.checkpoint as ocp

    steps = sorted(int(p.name) for p in (workdir / "checkpoints").iterdir() if p.name.isdigit())
    path = workdir / "checkpoints" / str(steps[-1]) / "state"
    checkpointer = ocp.StandardCheckpointer()
    here = jax.sharding.SingleDeviceSharding(jax.devices()[0])  # the 8-device run's arrays, onto this one device
    target = jax.tree.map(lambda meta: jax.ShapeDtypeStruct(meta.shape, meta.dtype, sharding=here),
                          checkpointer.metadata(path).item_metadata.tree)
    return [np.asarray(leaf) for leaf in jax.tree.leaves(checkpointer.restore(path, target))]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """The CNN example for one epoch (20 steps of 64 examples) on 1 and on 8 devices."""
    folder = tmp_path_factory.mktemp("parallel")
    for devices in (1, 8):
        result = dslc("train", str(EXAMPLES / "digits_cnn.yaml"), "--epochs", "1", "--workdir",
                      str(folder / str(devices)), devices=devices)
        assert result.returncode == 0, result.stderr
        assert ("8 devices, data-parallel" in result.stderr) == (devices == 8)
    return {devices: folder / str(devices) for devices in (1, 8)}


def test_eight_devices_train_like_one(runs: dict[int, Path]) -> None:
    one = values(runs[1])
    assert [name for name, _ in one] == ["loss", "accuracy", "loss"]  # train loss, validation accuracy and loss
    assert_same_metrics(one, values(runs[8]))
    assert_same_arrays(runs[1], runs[8])  # the parameters after 20 steps


def test_a_run_on_eight_devices_resumes_on_one(runs: dict[int, Path], tmp_path: Path) -> None:
    result = dslc("train", str(EXAMPLES / "digits_cnn.yaml"), "--epochs", "2", "--workdir", str(runs[8]),
                  "--resume")
    assert result.returncode == 0, result.stderr
    assert "resuming at step 20" in result.stderr
    assert len(values(runs[8])) == 6


def test_devices_that_do_not_fit_are_refused_before_training(tmp_path: Path) -> None:
    uneven = dslc("train", str(EXAMPLES / "digits_cnn.yaml"), "--devices", "3", "--workdir", str(tmp_path / "a"),
                  devices=8)
    assert uneven.returncode == 2 and "error[E613]: batch 64 does not split evenly over 3 devices" in uneven.stderr
    too_many = dslc("train", str(EXAMPLES / "digits_cnn.yaml"), "--devices", "16", "--workdir", str(tmp_path / "b"),
                    devices=8)
    assert too_many.returncode == 2 and "error[E613]" in too_many.stderr and "only 8 cpu devices" in too_many.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The CNN example for one epoch on 8 devices, its state split 4 ways (2 data-parallel groups of 4)."""
    workdir = tmp_path_factory.mktemp("sharded") / "run"
    result = dslc("train", str(EXAMPLES / "digits_cnn.yaml"), "--epochs", "1", "--shard-params", "4", "--workdir",
                  str(workdir), devices=8)
    assert result.returncode == 0, result.stderr
    return workdir, result.stderr


def test_a_sharded_state_trains_like_one_device(runs: dict[int, Path], sharded: tuple[Path, str]) -> None:
    workdir, stderr = sharded
    assert "8 devices, data-parallel, the state (336.5 KiB) split 4 ways: 84.2 KiB per device" in stderr
    assert_same_metrics(values(runs[1]), values(workdir))
    assert_same_arrays(runs[1], workdir)


def test_checkpoints_move_between_sharded_and_whole_layouts(runs: dict[int, Path], sharded: tuple[Path, str],
                                                            tmp_path: Path) -> None:
    """The sharded run goes on on one device, the one-device run goes on sharded 2 ways: they stay equal."""
    shutil.copytree(sharded[0], tmp_path / "from_sharded")
    shutil.copytree(runs[1], tmp_path / "from_one")
    spec, run = str(EXAMPLES / "digits_cnn.yaml"), ("--epochs", "2", "--resume")
    on_one = dslc("train", spec, *run, "--workdir", str(tmp_path / "from_sharded"))
    on_eight = dslc("train", spec, *run, "--shard-params", "2", "--workdir", str(tmp_path / "from_one"), devices=8)
    for result in (on_one, on_eight):
        assert result.returncode == 0, result.stderr
        assert "resuming at step 20" in result.stderr
    assert len(values(tmp_path / "from_one")) == 6
    assert_same_metrics(values(tmp_path / "from_sharded"), values(tmp_path / "from_one"))
    assert_same_arrays(tmp_path / "from_sharded", tmp_path / "from_one")


# Runs in a subprocess with 8 CPU devices: the state's layout after the jitted (donating) steps ran.
LAYOUT_AFTER_STEPS = """
import json, sys
import jax, numpy as np
from dslc.compiler.steps import Batch
from dslc.runtime.parallel import state_bytes
from dslc.runtime.session import load_for_training, open_session
from dslc.spec.limits import DEFAULT_LIMITS

loaded, train = load_for_training(sys.argv[1], DEFAULT_LIMITS)
session = open_session(loaded, train, 0, "cpu", "off", devices=None, shard_params=4)
first, where = session.state, session.placement
images = np.random.default_rng(0).normal(size=(3, 64, 8, 8, 1)).astype(np.float32)
labels, weight = np.arange(3 * 64).reshape(3, 64) % 10, np.ones((3, 64), np.float32)
state, _ = session.steps.multi(first, where.batch(Batch((images[:2],), labels[:2], weight[:2]), stacked=True))
state, _ = session.steps.train(state, where.batch(Batch((images[2],), labels[2], weight[2]), stacked=False))
kernel, moment = state.params["layers"]["conv2d_3"]["kernel"], state.opt_state[0].mu["layers"]["conv2d_3"]["kernel"]
print(json.dumps({
    "moved": [jax.tree_util.keystr(path) for path, leaf in jax.tree_util.tree_leaves_with_path(state)
              if leaf.sharding != where.sharding(leaf)],
    "kernel": [list(kernel.sharding.spec), [list(shard.data.shape) for shard in kernel.addressable_shards]],
    "moment": [list(moment.sharding.spec), list(moment.addressable_shards[0].data.shape)],
    "step": [list(state.step.sharding.spec), int(state.step)],
    "bytes": state_bytes(state),
    "donated": all(leaf.is_deleted() for leaf in jax.tree.leaves(first)),
}))
"""


def test_the_state_stays_sharded_through_the_jitted_steps() -> None:
    result = subprocess.run([sys.executable, "-c", LAYOUT_AFTER_STEPS, str(EXAMPLES / "digits_cnn.yaml")],
                            capture_output=True, text=True, timeout=600, env=flags(8))
    assert result.returncode == 0, result.stderr
    layout = json.loads(result.stdout)
    assert layout["moved"] == []  # every leaf still where `Placement.sharding` put it
    assert layout["kernel"] == [[None, None, None, "fsdp"], [[3, 3, 32, 16]] * 8]  # (3, 3, 32, 64), last axis split
    assert layout["moment"] == [[None, None, None, "fsdp"], [3, 3, 32, 16]]  # Adam's moments split like it
    assert layout["step"] == [[], 3]  # a scalar: whole on every device
    total, per_device = layout["bytes"]
    assert total == 344_592 and per_device == 86_256  # about a quarter of the state on each device
    assert layout["donated"]


def test_a_shard_count_that_does_not_divide_the_devices_is_refused(tmp_path: Path) -> None:
    result = dslc("train", str(EXAMPLES / "digits_cnn.yaml"), "--shard-params", "3", "--workdir", str(tmp_path / "a"),
                  devices=8)
    assert result.returncode == 2
    assert "error[E613]: --shard-params 3 does not divide the device count, 8" in result.stderr
    assert not (tmp_path / "a").exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_processes_train_one_model_and_a_single_process_resumes_it(tmp_path: Path) -> None:
    """Two `dslc train` processes on localhost (CPU collectives through gloo) against one process."""
    spec, run = str(EXAMPLES / "digits_mlp.yaml"), ("--epochs", "2")
    single = dslc("train", spec, *run, "--workdir", str(tmp_path / "single"))
    assert single.returncode == 0, single.stderr
    coordinator = f"127.0.0.1:{free_port()}"
    env = flags(1)
    processes = [subprocess.Popen([sys.executable, "-m", "dslc", "train", spec, *run, "--workdir",
                                   str(tmp_path / "pair"), "--coordinator", coordinator, "--num-processes", "2",
                                   "--process-id", str(rank)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                 for rank in (0, 1)]
    outputs = [process.communicate(timeout=300) for process in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
    first, second = (re.search(r"parameters sha256 ([0-9a-f]{64})", stdout) for stdout, _ in outputs)
    assert first and second and first.group(1) == second.group(1)  # the same parameters in both processes
    assert "2 devices, data-parallel" in outputs[0][1] and not outputs[1][1].count("epoch 1/2")  # process 0 logs
    assert_same_metrics(values(tmp_path / "pair"), values(tmp_path / "single"))
    assert_same_arrays(tmp_path / "single", tmp_path / "pair")
    resumed = dslc("train", spec, "--epochs", "3", "--workdir", str(tmp_path / "pair"), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming at step 40" in resumed.stderr


def test_process_flags_go_together(tmp_path: Path) -> None:
    result = dslc("train", str(EXAMPLES / "digits_mlp.yaml"), "--coordinator", "127.0.0.1:1", "--workdir",
                  str(tmp_path / "run"))
    assert result.returncode == 2 and "error[E613]: --coordinator, --num-processes and --process-id" in result.stderr
