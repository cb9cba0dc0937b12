"""`train_and_evaluate` in-process: resume, early stopping, the work-directory guard, checkpoint selection.

Tiny runs (a 16-unit MLP on the digits, batch 256: 5 steps per epoch). What needs a real process
(signals, kills, exit codes, what a rejection imports) is tested through `dslc` in subprocesses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dslc.runtime.checkpoint import default_checkpoint
from dslc.runtime.cli import main
from dslc.runtime.loop import NonFiniteError
from dslc.runtime.progress import PlainReporter, plural
from dslc.runtime.training import (
    TrainOptions,
    evaluate_checkpoint,
    nothing_left_message,
    results_table,
    train_and_evaluate,
)
from dslc.spec.errors import DslcErrors
from dslc.spec.load import load_text

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
TINY = (EXAMPLES / "digits_mlp.yaml").read_text().replace("units: 128", "units: 16").replace("units: 64", "units: 16")
TINY = TINY.replace("batch: 64", "batch: 256").replace("early_stopping: {patience: 8, monitor: accuracy}",
                                                       "checkpoint: {best: accuracy}")
PER_EPOCH = 5


def tiny(text: str = TINY, **changes: str) -> object:
    for old, new in changes.items():
        text = text.replace(old, new)
    return load_text(text, "yaml", "tiny.yaml")


def options(workdir: Path, **fields: object) -> TrainOptions:
    return TrainOptions(workdir=workdir, compile_cache="off", **fields)  # type: ignore[arg-type]


def records(workdir: Path) -> list[dict]:
    return [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]


def files(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def two_epochs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("runs") / "two"
    trained = train_and_evaluate(tiny(), options(workdir, epochs=2))
    assert trained.summary["steps"] == 2 * PER_EPOCH and not trained.nothing_left
    return workdir


def test_a_run_resumed_for_more_epochs_matches_an_uninterrupted_one(two_epochs: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "resumed"
    train_and_evaluate(tiny(), options(workdir, epochs=1))
    resumed = train_and_evaluate(tiny(), options(workdir, epochs=2, resume=True))
    assert resumed.summary["steps"] == 2 * PER_EPOCH
    assert [r["epoch"] for r in records(workdir) if r["split"] == "train"] == [1, 2]
    assert records(workdir) == records(two_epochs)
    whole = json.loads((two_epochs / "run.json").read_text())
    assert resumed.summary["parameters_sha256"] == whole["parameters_sha256"]


def test_resuming_a_finished_run_changes_nothing(two_epochs: Path) -> None:
    before = files(two_epochs)
    again = train_and_evaluate(tiny(), options(two_epochs, epochs=2, resume=True))
    assert again.nothing_left and again.state is None
    assert nothing_left_message(again) == (f"dslc: nothing left to do: {two_epochs} finished its 2 epochs; "
                                           "nothing was changed")
    assert files(two_epochs) == before


def test_the_work_directory_is_guarded(two_epochs: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    (foreign / "7").mkdir(parents=True)  # a folder named like a step: orbax would delete it
    (foreign / "notes.txt").write_text("mine")
    before = files(two_epochs)
    with pytest.raises(DslcErrors) as refused:
        train_and_evaluate(tiny(), options(foreign, epochs=1))
    assert refused.value.errors[0].code == "E801"
    assert sorted(path.name for path in foreign.iterdir()) == ["7", "notes.txt"]
    with pytest.raises(DslcErrors) as earlier:
        train_and_evaluate(tiny(), options(two_epochs, epochs=2))
    assert earlier.value.errors[0].code == "E803"
    with pytest.raises(DslcErrors) as other_seed:
        train_and_evaluate(tiny(), options(two_epochs, epochs=3, seed=4, resume=True))
    assert other_seed.value.errors[0].code == "E802" and "seed" in other_seed.value.errors[0].message
    other = tiny(**{"units: 10": "units: 10}\n    - dense: {units: 10"})
    with pytest.raises(DslcErrors) as other_model:
        train_and_evaluate(other, options(two_epochs, epochs=3, resume=True))
    assert other_model.value.errors[0].code == "E802"
    with pytest.raises(DslcErrors) as evaluated:
        evaluate_checkpoint(other, two_epochs)
    assert evaluated.value.errors[0].code == "E802"
    assert files(two_epochs) == before


def test_overwrite_starts_over(two_epochs: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "over"
    train_and_evaluate(tiny(), options(workdir, epochs=2))
    fresh = train_and_evaluate(tiny(), options(workdir, epochs=1, overwrite=True))
    assert fresh.summary["steps"] == PER_EPOCH
    assert [r["epoch"] for r in records(workdir)] == [1, 1]


class Messages(PlainReporter):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def message(self, text: str) -> None:
        self.lines.append(text)


def test_early_stopping_stops_says_why_and_a_resume_has_nothing_left(tmp_path: Path) -> None:
    spec = tiny(**{"checkpoint: {best: accuracy}": "early_stopping: {patience: 1, monitor: loss, min_delta: 100}"})
    reporter = Messages()
    trained = train_and_evaluate(spec, options(tmp_path / "early", epochs=10), reporter=reporter)
    assert reporter.lines[-1].startswith("early stopping after epoch 2: validation loss has not improved for "
                                         "1 epoch (best ")
    assert trained.summary["stopped_early"] and trained.summary["epochs"] == 2
    assert trained.summary["steps"] == 2 * PER_EPOCH
    again = train_and_evaluate(spec, options(tmp_path / "early", epochs=10, resume=True))
    assert again.nothing_left and "stopped early after 2 epochs" in nothing_left_message(again)


def test_best_and_latest_checkpoints_are_chosen(two_epochs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    validation = [r["accuracy"] for r in records(two_epochs) if r["split"] == "validation"]
    best = evaluate_checkpoint(tiny(), two_epochs / "best", "validation")
    assert best.metrics["accuracy"] == pytest.approx(max(validation), abs=1e-6)
    assert best.step == PER_EPOCH * (1 + validation.index(max(validation)))
    latest = evaluate_checkpoint(tiny(), two_epochs, "test")
    assert latest.step == 2 * PER_EPOCH and latest.examples > 0
    assert latest.metrics == pytest.approx(json.loads((two_epochs / "run.json").read_text())["test"])
    monkeypatch.chdir(two_epochs.parent.parent)
    (Path("runs")).mkdir()
    os.symlink(two_epochs, Path("runs") / "digits_mlp")
    assert default_checkpoint("digits_mlp") == Path("runs/digits_mlp/best")
    assert evaluate_checkpoint(tiny()).step == best.step  # no checkpoint given: the spec's run's best
    assert default_checkpoint("untrained") == Path("runs/untrained")


def test_a_diverging_run_raises_and_saves_nothing(tmp_path: Path) -> None:
    with pytest.raises(NonFiniteError):
        train_and_evaluate(tiny(**{"{adam: {lr: 0.002}}": "{sgd: {lr: 1e30}}"}), options(tmp_path / "nan", epochs=1))
    assert not list((tmp_path / "nan" / "checkpoints").glob("[0-9]*"))


def test_the_results_table_never_runs_names_together() -> None:
    table = results_table({"train": {"loss": 1.0}, "test": {"loss": 0.5, "top_5_accuracy": 0.9,
                                                            "mean_absolute_error": 0.25}})
    header = table.splitlines()[0].split()
    assert header == ["loss", "top_5_accuracy", "mean_absolute_error"]
    assert table.splitlines()[2].split() == ["test", "0.5000", "0.9000", "0.2500"]


def test_counts_are_pluralised() -> None:
    assert [plural(1, "epoch"), plural(2, "epoch"), plural(1_797, "example")] == ["1 epoch", "2 epochs",
                                                                                   "1,797 examples"]


# -- the command line: what needs a process of its own ------------------------------------------------
def dslc_without_jax(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`dslc ARGS` in a fresh interpreter that reports whether JAX was imported (last line of stderr)."""
    script = ("import sys\nfrom dslc.runtime.cli import main\ncode = main(sys.argv[1:])\n"
              "print('jax imported' if 'jax' in sys.modules else 'jax not imported', file=sys.stderr)\n"
              "raise SystemExit(code)\n")
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd)


def test_rejections_happen_before_jax_is_imported(two_epochs: Path, tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY)
    guarded = dslc_without_jax("train", str(spec), "--epochs", "2", "--workdir", str(two_epochs))
    assert guarded.returncode == 2 and "error[E803]" in guarded.stderr
    assert guarded.stderr.endswith("jax not imported\n")
    too_big = dslc_without_jax("train", str(spec), "--batch", "100000", "--workdir", str(tmp_path / "big"))
    assert too_big.returncode == 2 and "error[E707]" in too_big.stderr
    assert too_big.stderr.endswith("jax not imported\n") and not (tmp_path / "big").exists()
    shapes = tmp_path / "shapes.yaml"
    shapes.write_text(TINY.replace("inputs: {image: [8, 8, 1]}", "inputs: {image: [8, 8, 2]}"))
    wrong = dslc_without_jax("train", str(shapes), "--workdir", str(tmp_path / "shapes"))
    assert wrong.returncode == 2 and "error[E611]" in wrong.stderr and wrong.stderr.endswith("jax not imported\n")
    budget = dslc_without_jax("train", str(spec), "--limit-params", "100", "--workdir", str(tmp_path / "budget"))
    assert budget.returncode == 2 and "error[E008]" in budget.stderr and budget.stderr.endswith("jax not imported\n")
    finished = dslc_without_jax("train", str(spec), "--epochs", "2", "--workdir", str(two_epochs), "--resume")
    assert finished.returncode == 0, finished.stderr
    assert f"dslc: nothing left to do: {two_epochs} finished its 2 epochs; nothing was changed" in finished.stderr
    assert finished.stderr.endswith("jax not imported\n") and finished.stdout == ""


def test_eval_of_an_empty_split_is_e807(tmp_path: Path) -> None:
    spec = tmp_path / "notest.yaml"
    spec.write_text(TINY.replace("data: digits", "data: {digits: {test: 0}}"))
    train_and_evaluate(load_text(spec.read_text(), "yaml", str(spec)), options(tmp_path / "runs" / "digits_mlp",
                                                                                  epochs=1))
    result = dslc_without_jax("eval", str(spec), cwd=tmp_path)  # the default checkpoint: runs/digits_mlp
    assert result.returncode == 2 and "error[E807]" in result.stderr and "test split" in result.stderr
    assert result.stderr.endswith("jax not imported\n")


def test_version_and_quiet(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    version = subprocess.run([sys.executable, "-m", "dslc", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout == "dslc 0.1.0\n"
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY)
    capfd.readouterr()
    status = main(["train", str(spec), "--epochs", "1", "--quiet", "--workdir", str(tmp_path / "run"),
                   "--compile-cache", "off"])
    quiet = capfd.readouterr()
    assert status == 0 and quiet.out == "" and quiet.err == "", quiet.err
    assert json.loads((tmp_path / "run" / "run.json").read_text())["steps"] == PER_EPOCH
