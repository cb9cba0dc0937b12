"""The program cache (`dslc.runtime.programs`): a second `dslc train` on the same compilation cache loads its
compiled steps instead of tracing them, and trains exactly what a run without any cache trains.

Tiny runs (a 16-unit MLP on the digits, batch 256, 2 epochs: a few seconds of CPU each).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import dslc

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
TINY = (EXAMPLES / "digits_mlp.yaml").read_text().replace("units: 128", "units: 16").replace("units: 64", "units: 16")
TINY = TINY.replace("batch: 64", "batch: 256")


def kept(cache: Path) -> list[str]:
    """The names of the programs in the cache: initialisation, the fused train step, the evaluation steps."""
    return sorted({path.name.split("-")[0] for path in (cache / "programs").glob("*.bin")})


def train(spec: Path, workdir: Path, cache: str, *extra: str) -> dict:
    epochs = () if "--epochs" in extra else ("--epochs", "2")
    result = dslc("train", str(spec), *epochs, "--quiet", "--workdir", str(workdir), "--compile-cache", cache,
                  *extra)
    assert result.returncode == 0, result.stderr
    return json.loads((workdir / "run.json").read_text())


def train_process(spec: Path, workdir: Path, cache: Path) -> dict:
    """`dslc train` in a process of its own: one that has loaded no program before."""
    process = subprocess.run([sys.executable, "-m", "dslc", "train", str(spec), "--epochs", "2", "--quiet",
                              "--workdir", str(workdir), "--compile-cache", str(cache)],
                             capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stderr
    return json.loads((workdir / "run.json").read_text())


@pytest.fixture()
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def test_a_second_run_with_another_seed_loads_its_programs_and_trains_what_no_cache_trains(
        spec: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = train(spec, tmp_path / "first", str(cache))
    assert first["programs_loaded"] == [] and {"init", "multi"} < set(kept(cache))
    # the validation split (one batch) and the test split (two) are evaluated by one program
    assert len(list((cache / "programs").glob("eval*.bin"))) == 1
    # the seed is the initialisation program's argument, not a constant in it: one entry serves every seed
    second = train(spec, tmp_path / "second", str(cache), "--seed", "7")
    uncached = train(spec, tmp_path / "off", "off", "--seed", "7")
    assert sorted(set(second["programs_loaded"])) == kept(cache) and uncached["programs_loaded"] == []
    assert second["parameters_sha256"] == uncached["parameters_sha256"] != first["parameters_sha256"]
    assert second["test"] == uncached["test"]
    changed = tmp_path / "changed.yaml"
    changed.write_text(TINY.replace("lr: 0.002", "lr: 0.001"))
    assert "lr: 0.001" in changed.read_text()
    relearned = train(changed, tmp_path / "lr", str(cache))
    assert "multi" not in relearned["programs_loaded"]  # the learning rate is in the step: another program
    longer = train(spec, tmp_path / "longer", str(cache), "--epochs", "3")
    assert sorted(set(longer["programs_loaded"])) == kept(cache)  # how long a run is, is in no program


def test_a_damaged_entry_is_compiled_again_and_programs_compiled_after_others_were_loaded_are_whole(
        spec: Path, tmp_path: Path) -> None:
    """A process that has loaded programs compiles a missing one, and its entry runs in a new process: without
    kernels named uniquely per compilation such an entry failed at its first call ("Function wrapped_slice not
    found")."""
    cache = tmp_path / "cache"
    expected = train(spec, tmp_path / "first", str(cache))["parameters_sha256"]
    for entry in (cache / "programs").glob("multi-*.bin"):
        entry.write_bytes(entry.read_bytes()[:100])
    again = train_process(spec, tmp_path / "again", cache)  # loads the others, then compiles and keeps multi
    assert "multi" not in again["programs_loaded"] and again["parameters_sha256"] == expected
    fresh = train_process(spec, tmp_path / "fresh", cache)
    assert sorted(set(fresh["programs_loaded"])) == kept(cache) and fresh["parameters_sha256"] == expected
