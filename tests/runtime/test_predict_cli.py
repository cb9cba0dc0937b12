"""`dslc predict` end to end (one digits MLP trained once per module), and `prepare_inputs` against training.

`dslc` runs in the test's process (tests/cli_helpers.py): JAX is imported once, not once per command."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import numpy as np
import pytest

from dslc.compiler.analysis.analyse import analyse
from dslc.runtime.data import Dataset, feature_columns, load_dataset, prepare_inputs
from dslc.runtime.predictions import Predictions, kind_of
from dslc.spec.errors import DslcError
from dslc.spec.load import load
from tests.cli_helpers import dslc

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
SPEC = EXAMPLES / "digits_mlp.yaml"
ROWS = 20


def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    pixels, labels = load_digits(return_X_y=True)
    return pixels, labels


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A work folder: the trained run (run/), the compile cache (cache/) and the inputs of the tests."""
    folder = tmp_path_factory.mktemp("predict")
    result = dslc("train", str(SPEC), "--epochs", "3", "--workdir", str(folder / "run"),
                  "--compile-cache", str(folder / "cache"))
    assert result.returncode == 0, result.stderr
    pixels, labels = digits()
    np.save(folder / "x.npy", pixels[:ROWS])  # raw: 64 pixel values 0..16 per row
    np.save(folder / "y.npy", labels[:ROWS])
    np.savez(folder / "x.npz", image=pixels[:ROWS].reshape(ROWS, 8, 8, 1).astype(np.uint8))  # the input's shape
    np.save(folder / "empty.npy", np.zeros((0, 64)))
    np.save(folder / "x63.npy", pixels[:ROWS, :63])
    return folder


def predict_args(run: Path, input: str, *options: str) -> list[str]:
    return ["predict", str(SPEC), "--checkpoint", str(run / "run"), "--input", str(run / input), "--compile-cache",
            str(run / "cache"), *options]


@pytest.fixture(scope="module")
def results(run: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    """The predictions that restore the model, each a `dslc predict` command of its own."""
    commands = {"csv": predict_args(run, "x.npy", "--output", str(run / "preds.csv")),
                "npz": predict_args(run, "x.npz", "--output", str(run / "preds.npy")),
                "raw": predict_args(run, "x.npy", "--output", str(run / "raw.npy"), "--raw"),
                "empty": predict_args(run, "empty.npy"),
                "shape": predict_args(run, "x63.npy")}
    return {name: dslc(*command) for name, command in commands.items()}


@pytest.fixture(scope="module")
def table(run: Path, results: dict[str, subprocess.CompletedProcess[str]]) -> tuple[list[str], np.ndarray]:
    """The CSV of the 20 raw digits (.npy input): its header and its values."""
    assert results["csv"].returncode == 0, results["csv"].stderr
    with (run / "preds.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], np.array(rows[1:], np.float64)


def test_npy_input_gives_classes_and_probabilities(run: Path, table: tuple[list[str], np.ndarray]) -> None:
    header, values = table
    assert header == ["prediction", *(f"p{c}" for c in range(10))]
    assert values.shape == (ROWS, 11)
    classes, probabilities = values[:, 0].astype(int), values[:, 1:]
    assert np.array_equal(classes, probabilities.argmax(axis=1))
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5) and (probabilities >= 0).all()
    assert (classes == np.load(run / "y.npy")).mean() >= 0.7  # 3 epochs; test accuracy about 0.9


def test_npz_input_by_input_name_gives_probabilities_and_raw_gives_logits(run: Path, results: dict,
                                                                          table: tuple) -> None:
    for name in ("npz", "raw"):
        assert results[name].returncode == 0, results[name].stderr
    probabilities, logits = (np.load(run / name, allow_pickle=False) for name in ("preds.npy", "raw.npy"))
    assert probabilities.shape == logits.shape == (ROWS, 10) and probabilities.dtype == logits.dtype == np.float32
    np.testing.assert_allclose(probabilities, table[1][:, 1:], atol=1e-6)  # what the CSV gives
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(shifted / shifted.sum(axis=1, keepdims=True), probabilities, atol=1e-6)
    assert not np.allclose(logits.sum(axis=1), 1.0)


def test_predictions_are_the_model_run_in_process(run: Path, table: tuple[list[str], np.ndarray]) -> None:
    """The CLI's probabilities are the restored model's, on pixels / 16 (the spec's minmax) in the input's shape."""
    import jax

    from dslc.compiler.steps import model_from_state
    from dslc.runtime.session import open_trained
    from dslc.spec.limits import DEFAULT_LIMITS

    session, restored = open_trained(str(SPEC), run / "run", DEFAULT_LIMITS, "cpu", str(run / "cache"))
    inputs = (np.load(run / "x.npy") / 16.0).astype(np.float32).reshape(ROWS, 8, 8, 1)
    logits = np.asarray(jax.device_get(model_from_state(session.graphdef, restored.state)(inputs, train=False)))
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    assert np.array_equal(logits.argmax(axis=1), table[1][:, 0].astype(int))
    assert np.allclose(probabilities, table[1][:, 1:], atol=1e-5)


def test_empty_input_gives_the_header_only(results: dict[str, subprocess.CompletedProcess[str]]) -> None:
    assert results["empty"].returncode == 0, results["empty"].stderr
    assert results["empty"].stdout == "prediction," + ",".join(f"p{c}" for c in range(10)) + "\n"


def test_input_errors_exit_2_with_one_line(run: Path, results: dict[str, subprocess.CompletedProcess[str]]) -> None:
    result = results["shape"]
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "error[E704]" in result.stderr and "x63.npy" in result.stderr
    assert "'image'" in result.stderr and "(8, 8, 1)" in result.stderr and "63 values" in result.stderr

    result = dslc(*predict_args(run, "missing.npy"))
    assert result.returncode == 2 and "error[E701]" in result.stderr and "missing.npy" in result.stderr

    result = dslc(*predict_args(run, "x.npy", "--output", str(run / "preds.txt")))
    assert result.returncode == 2 and "must end in .npy or .csv" in result.stderr
    assert not (run / "preds.txt").exists()


# -- prepare_inputs: new examples become exactly what training fed the model (no JAX) ----------------
def rows_sorted(array: np.ndarray) -> np.ndarray:
    flat = array.reshape(len(array), -1)
    return flat[np.lexsort(flat.T[::-1])]


def every_split(data: Dataset) -> np.ndarray:
    return np.concatenate([data.split(name).inputs[0] for name in ("train", "validation", "test")])


def test_digits_standard_uses_the_train_split_statistics(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC.read_text().replace("data: digits", "data: {digits: {normalize: standard}}"))
    loaded = load(spec)
    analysis = analyse(loaded)
    data = load_dataset(loaded, analysis, 3)
    pixels, _ = digits()
    prepared, = prepare_inputs(loaded, analysis, 3, [pixels])
    assert prepared.shape == (len(pixels), 8, 8, 1) and prepared.dtype == np.float32
    assert np.array_equal(rows_sorted(prepared), rows_sorted(every_split(data)))  # bit for bit
    assert not np.array_equal(prepared, prepare_inputs(loaded, analysis, 4, [pixels])[0])  # the seed's split


def test_csv_features_by_name_and_standard_normalisation(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((30, 3)) * 5 + 2, rng.integers(0, 2, 30)
    lines = ["a,label,b,c"] + [f"{r[0]},{label},{r[1]},{r[2]}" for r, label in zip(x, y, strict=True)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    spec = tmp_path / "s.yaml"
    spec.write_text("dslc: 1\nmodel: {name: m, inputs: {x: [3]}, layers: [{dense: {units: 2}}]}\n"
                    "train: {loss: softmax_cross_entropy, optimizer: {sgd: {lr: 0.1}}, batch: 4, steps: 1,\n"
                    "        data: {csv: {path: t.csv, normalize: standard}}}\n")
    loaded = load(spec)
    analysis = analyse(loaded)
    assert feature_columns(loaded) == ["a", "b", "c"]
    prepared, = prepare_inputs(loaded, analysis, 0, [x])
    assert np.array_equal(rows_sorted(prepared), rows_sorted(every_split(load_dataset(loaded, analysis, 0))))
    with pytest.raises(DslcError) as info:
        prepare_inputs(loaded, analysis, 0, [x[:, :2]], what=["'new.csv'"])
    assert info.value.code == "E704" and "'new.csv'" in info.value.message and "(3,)" in info.value.message


def test_float_values_for_an_integer_input_are_refused(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("dslc: 1\nmodel: {name: m, inputs: {t: {shape: [5], dtype: int32}},\n"
                    "        layers: [{embedding: {vocab: 7, dim: 4}}, flatten, {dense: {units: 2}}]}\n"
                    "train: {loss: softmax_cross_entropy, optimizer: {sgd: {lr: 0.1}}, batch: 4, steps: 1,\n"
                    "        data: {synthetic: {task: random, samples: 40}}}\n")
    loaded = load(spec)
    analysis = analyse(loaded)
    ids, = prepare_inputs(loaded, analysis, 0, [np.arange(10.0).reshape(2, 5)])
    assert ids.dtype == np.int32
    with pytest.raises(DslcError) as info:
        prepare_inputs(loaded, analysis, 0, [np.full((2, 5), 1.5)], what=["'ids.npy'"])
    assert info.value.code == "E705" and "'ids.npy'" in info.value.message and "int32" in info.value.message


def test_standard_input_takes_npy_bytes_or_csv_text(run: Path, table: tuple[list[str], np.ndarray]) -> None:
    pixels, _ = digits()
    header, values = table
    command = ["predict", str(SPEC), "--checkpoint", str(run / "run"), "--input", "-", "--compile-cache",
               str(run / "cache")]
    for given in ((run / "x.npy").read_bytes(),
                  ("".join(f"c{i}," for i in range(63)) + "c63\n"
                   + "".join(",".join(str(v) for v in row) + "\n" for row in pixels[:ROWS])).encode()):
        result = dslc(*command, input=given)
        assert result.returncode == 0, result.stderr
        rows = list(csv.reader(result.stdout.splitlines()))
        assert rows[0] == header
        assert np.array(rows[1:], np.float64) == pytest.approx(values)
    broken = dslc(*command, input=b"\xff\xfe")
    assert broken.returncode == 2 and "standard input" in broken.stderr


def test_weights_export_gives_what_predict_computes(run: Path, table: tuple[list[str], np.ndarray]) -> None:
    """`dslc weights --save` writes the checkpoint's weights: loaded into a fresh model, they predict the CSV."""
    from dslc.compiler.build import build_model
    from dslc.compiler.weights import load_weights
    result = dslc("weights", str(SPEC), "--checkpoint", str(run / "run"), "--save", str(run / "w.safetensors"))
    assert result.returncode == 0, result.stderr
    loaded = load(SPEC)
    analysis = analyse(loaded)
    model = build_model(loaded, analysis, seed=1)
    load_weights(model, run / "w.safetensors")
    pixels, _ = digits()
    prepared, = prepare_inputs(loaded, analysis, 0, [pixels[:ROWS]])
    logits = np.asarray(model(prepared))
    _, values = table
    np.testing.assert_allclose(np.exp(logits) / np.exp(logits).sum(-1, keepdims=True), values[:, 1:], atol=1e-4)


def test_csv_output_names_the_classes_quoted_as_csv() -> None:
    logits = np.array([[2.0, 0.0], [0.0, 3.0]], np.float32)
    lines = Predictions(logits, "classes", ("cat", 'big, "red" dog')).csv().splitlines()
    assert lines[0] == "prediction,class,p0,p1"
    assert lines[1].startswith("0,cat,") and lines[2].startswith('1,"big, ""red"" dog",')
    assert Predictions(logits, "classes").csv().splitlines()[0] == "prediction,p0,p1"  # no names: as before


def test_a_sigmoid_classifier_gives_labels_and_probabilities() -> None:
    logits = np.array([[-2.0], [0.5], [800.0], [-800.0]], np.float32)  # no overflow at either end
    lines = Predictions(logits, "binary").csv().splitlines()
    assert lines[0] == "prediction,p"
    assert [line.split(",")[0] for line in lines[1:]] == ["0", "1", "1", "0"]
    assert np.allclose([float(line.split(",")[1]) for line in lines[1:]], [0.1192029, 0.6224593, 1.0, 0.0])
    several = Predictions(np.array([[1.0, -1.0]], np.float32), "binary")
    assert several.csv().splitlines()[0] == "prediction_0,prediction_1,p_0,p_1"
    assert np.allclose(several.array(), [[0.7310586, 0.2689414]])
    assert kind_of("sigmoid_binary_cross_entropy") == "binary" and kind_of("mse") == "values"
    assert kind_of("softmax_cross_entropy", raw=True) == "values"


def test_a_sigmoid_classifier_predicts_labels_from_the_cli(tmp_path: Path) -> None:
    """Trained on 0/1 labels under sigmoid_binary_cross_entropy: `predict` gives each example's label and p."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", (x[:, :1] > 0).astype(np.float32))
    spec = tmp_path / "binary.dsl"
    spec.write_text("dslc 1\nmodel b(x: [4]) {\n  dense(1)\n}\ntrain {\n  loss = sigmoid_binary_cross_entropy\n"
                    "  optimizer = adam(0.05)\n  batch = 20\n  epochs = 5\n  data = npy(x=\"x.npy\", y=\"y.npy\")\n}\n")
    run = tmp_path / "run"
    trained = dslc("train", str(spec), "--workdir", str(run), "--quiet")
    assert trained.returncode == 0, trained.stderr
    result = dslc("predict", str(spec), "--checkpoint", str(run), "--input", str(tmp_path / "x.npy"))
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(result.stdout.splitlines()))
    assert rows[0] == ["prediction", "p"] and len(rows) == 201
    labels, probabilities = np.array([int(r[0]) for r in rows[1:]]), np.array([float(r[1]) for r in rows[1:]])
    assert np.array_equal(labels, probabilities >= 0.5) and ((probabilities >= 0) & (probabilities <= 1)).all()
    assert (labels == (x[:, 0] > 0)).mean() > 0.9
