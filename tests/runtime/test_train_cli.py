"""`dslc train` end to end on real data (scikit-learn's bundled digits), `dslc` run in the test's process
(tests/cli_helpers.py) but where a second process is the point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import dslc

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"


def dslc_process(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dslc", *args], capture_output=True, text=True, timeout=600)


def records(workdir: Path) -> list[dict]:
    return [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]


def test_training_the_mlp_learns_the_digits(tmp_path: Path) -> None:
    result = dslc("train", str(EXAMPLES / "digits_mlp.yaml"), "--epochs", "8", "--workdir", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    history = records(tmp_path / "run")
    assert [(r["epoch"], r["split"]) for r in history[:2]] == [(1, "train"), (1, "validation")]
    assert len(history) == 16
    train_losses = [r["loss"] for r in history if r["split"] == "train"]
    assert train_losses[-1] < train_losses[0] / 3
    header = result.stdout.splitlines()[0].split()
    assert header == ["loss", "accuracy"], result.stdout
    test_row = next(line.split() for line in result.stdout.splitlines() if line.startswith("test "))
    accuracy = float(test_row[1 + header.index("accuracy")])
    assert accuracy > 0.9, result.stdout
    assert json.loads((tmp_path / "run" / "run.json").read_text())["test"]["accuracy"] == pytest.approx(accuracy,
                                                                                                        abs=1e-4)


def test_same_seed_same_losses_bitwise(tmp_path: Path) -> None:
    """One run in this process, the other in a fresh one: nothing but the seed carries over."""
    for name, run in (("a", dslc), ("b", dslc_process)):
        assert run("train", str(EXAMPLES / "digits_mlp.dsl"), "--epochs", "2", "--seed", "7",
                   "--workdir", str(tmp_path / name)).returncode == 0
    assert records(tmp_path / "a") == records(tmp_path / "b")


def test_a_diverging_run_stops_with_exit_3(tmp_path: Path) -> None:
    spec = tmp_path / "diverge.yaml"
    spec.write_text((EXAMPLES / "digits_mlp.yaml").read_text().replace("{adam: {lr: 0.002}}", "{sgd: {lr: 1e30}}"))
    result = dslc("train", str(spec), "--epochs", "2", "--workdir", str(tmp_path / "run"))
    assert result.returncode == 3, result.stdout + result.stderr
    assert "NaN or infinite at step" in result.stderr and "Traceback" not in result.stderr
    assert not list((tmp_path / "run" / "checkpoints").glob("[0-9]*"))  # no non-finite state saved


def test_bad_flags_and_missing_train_section(tmp_path: Path) -> None:
    assert dslc("train", str(EXAMPLES / "digits_mlp.yaml"), "--batch", "0").returncode == 2
    spec = tmp_path / "m.yaml"
    spec.write_text("dslc: 1\nmodel: {name: m, inputs: {x: [4]}, layers: [{dense: {units: 2}}]}\n")
    result = dslc("train", str(spec))
    assert result.returncode == 2 and "error[E102]: the spec has no train section" in result.stderr


def test_data_errors_stop_before_training_with_exit_2(tmp_path: Path) -> None:
    too_big = dslc("train", str(EXAMPLES / "digits_mlp.yaml"), "--batch", "5000", "--workdir", str(tmp_path / "a"))
    assert too_big.returncode == 2 and "error[E707]: batch 5000 is larger than the train split" in too_big.stderr
    spec = tmp_path / "files.yaml"
    spec.write_text((EXAMPLES / "digits_mlp.yaml").read_text().replace("data: digits", "data: {npz: {path: gone.npz}}"))
    missing = dslc("train", str(spec), "--workdir", str(tmp_path / "b"))
    assert missing.returncode == 2 and "error[E701]" in missing.stderr and "gone.npz" in missing.stderr
    for result in (too_big, missing):
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # nothing created
