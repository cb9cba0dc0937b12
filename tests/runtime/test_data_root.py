"""`--data-root DIR`: a spec's relative data paths resolve in DIR instead of the spec's folder, for check and
training alike, and may not leave it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from dslc.runtime.cli import main

SPEC = """dslc: 1
model:
  name: m
  inputs: {x: [4]}
  layers:
    - dense: {units: 3}
train:
  loss: softmax_cross_entropy
  optimizer: {adam: {lr: 0.01}}
  batch: 8
  epochs: 1
  data: {npz: {path: sets/train.npz}}
"""


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """A spec in one folder, its data in another: (spec, data root)."""
    spec = tmp_path / "specs" / "m.yaml"
    spec.parent.mkdir()
    spec.write_text(SPEC)
    root = tmp_path / "datasets"
    (root / "sets").mkdir(parents=True)
    rng = np.random.default_rng(0)
    np.savez(root / "sets" / "train.npz", x=rng.normal(size=(40, 4)).astype(np.float32), y=np.arange(40) % 3)
    return spec, root


def test_check_looks_for_the_data_in_the_root(layout: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    spec, root = layout
    assert main(["check", "--warnings-as-errors", str(spec)]) == 1
    assert "warning[W109]: data path 'sets/train.npz' does not exist" in capsys.readouterr().out
    assert main(["check", "--warnings-as-errors", "--data-root", str(root), str(spec)]) == 0


def test_training_reads_the_data_from_the_root(layout: tuple[Path, Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    spec, root = layout
    workdir = str(tmp_path / "run")
    assert main(["train", str(spec), "--workdir", workdir, "--quiet"]) == 2
    assert "error[E701]: data file 'sets/train.npz' does not exist" in capsys.readouterr().err
    assert main(["train", str(spec), "--workdir", workdir, "--quiet", "--data-root", str(root)]) == 0


def test_a_symlink_out_of_the_root_is_refused(layout: tuple[Path, Path], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    spec, root = layout
    outside = tmp_path / "elsewhere.npz"
    os.replace(root / "sets" / "train.npz", outside)
    (root / "sets" / "train.npz").symlink_to(outside)
    assert main(["train", str(spec), "--workdir", str(tmp_path / "run"), "--quiet", "--data-root", str(root)]) == 2
    err = capsys.readouterr().err
    assert "error[E702]: data file 'sets/train.npz' resolves to" in err and f"outside the data root '{root}'" in err


def test_the_root_must_be_a_folder(layout: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    spec, root = layout
    with pytest.raises(SystemExit) as exited:
        main(["check", "--data-root", str(root / "missing"), str(spec)])
    assert exited.value.code == 2 and "--data-root: not a folder" in capsys.readouterr().err
