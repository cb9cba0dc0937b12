"""Training data: digits splits and normalisation, fixed-size batches, files next to the spec, synthetic tasks.

Each error case marks with `«` where the error must point; the mark is removed before the spec is written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dslc.compiler.analysis.analyse import analyse
from dslc.runtime.data import Dataset, Split, load_dataset
from dslc.spec.errors import DslcError
from dslc.spec.load import load

MARK = "«"
DIGITS = 1797


def write_spec(folder: Path, data: str, *, inputs: str = "{x: [4]}", layers: str = "- dense: {units: 3}",
               loss: str = "softmax_cross_entropy", batch: str = "8", name: str = "spec.yaml") -> tuple[Path, tuple]:
    """A YAML spec in `folder`; returns its path and the 1-based (line, col) of the mark (or None)."""
    text = (f"dslc: 1\nmodel:\n  name: m\n  inputs: {inputs}\n  layers:\n    {layers}\n"
            f"train:\n  loss: {loss}\n  optimizer: {{adam: {{lr: 0.01}}}}\n  batch: {batch}\n  steps: 10\n"
            f"  data: {data}\n")
    return _write(folder / name, text)


def _write(path: Path, text: str) -> tuple[Path, tuple]:
    position = None
    for number, line in enumerate(text.splitlines(), start=1):
        if MARK in line:
            position = (number, line.index(MARK) + 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.replace(MARK, ""))
    return path, position


def dataset(path: Path, seed: int = 0) -> Dataset:
    loaded = load(path)
    return load_dataset(loaded, analyse(loaded), seed)


def data_error(path: Path, seed: int = 0) -> DslcError:
    with pytest.raises(DslcError) as info:
        dataset(path, seed)
    return info.value


def digits(tmp_path: Path, args: str = "", inputs: str = "{image: [8, 8, 1]}", seed: int = 0, **kw) -> Dataset:
    data = f"{{digits: {{{args}}}}}" if args else "digits"
    layers = kw.pop("layers", "- flatten\n    - dense: {units: 10}")
    path, _ = write_spec(tmp_path, data, inputs=inputs, layers=layers, **kw)
    return dataset(path, seed)


def all_rows(split: Split) -> np.ndarray:
    return split.inputs[0].reshape(len(split), -1)


# -- digits -------------------------------------------------------------------------------------
def test_digits_splits_are_disjoint_and_sized_by_the_fractions(tmp_path: Path) -> None:
    data = digits(tmp_path, "validation: 0.15, test: 0.25")
    sizes = [len(data.train), len(data.validation), len(data.test)]
    assert sizes == [DIGITS - round(DIGITS * 0.15) - round(DIGITS * 0.25), round(DIGITS * 0.15), round(DIGITS * 0.25)]
    rows = [{row.tobytes() for row in all_rows(split)} for split in (data.train, data.validation, data.test)]
    assert [len(r) for r in rows] == sizes  # the 1,797 images are all distinct
    assert not (rows[0] & rows[1] or rows[0] & rows[2] or rows[1] & rows[2])
    assert len(rows[0] | rows[1] | rows[2]) == DIGITS
    assert data.train.inputs[0].shape[1:] == (8, 8, 1) and data.train.inputs[0].dtype == np.float32
    assert data.train.target.dtype == np.int32 and set(np.unique(data.test.target)) == set(range(10))
    # stratified: every class is in every split in about the same proportion
    counts = np.bincount(data.validation.target, minlength=10)
    assert counts.min() >= 20


def test_digits_split_is_deterministic_per_seed(tmp_path: Path) -> None:
    first, again = digits(tmp_path, seed=3), digits(tmp_path, seed=3)
    other = digits(tmp_path, seed=4)
    assert np.array_equal(first.test.inputs[0], again.test.inputs[0])
    assert np.array_equal(first.train.target, again.train.target)
    assert not np.array_equal(first.test.inputs[0], other.test.inputs[0])


def test_digits_normalisations(tmp_path: Path) -> None:
    minmax = digits(tmp_path)
    x = minmax.train.inputs[0]
    assert x.min() == 0.0 and x.max() == 1.0
    raw = digits(tmp_path, "normalize: none")
    assert raw.train.inputs[0].max() == 16.0
    assert np.allclose(raw.train.inputs[0] / 16.0, x)
    standard = digits(tmp_path, "normalize: standard")
    flat = standard.train.inputs[0].reshape(len(standard.train), -1)
    varying = flat.std(axis=0) > 0
    assert np.allclose(flat.mean(axis=0), 0.0, atol=1e-5)
    assert np.allclose(flat.std(axis=0)[varying], 1.0, atol=1e-4)
    assert not np.allclose(standard.test.inputs[0].reshape(len(standard.test), -1).mean(axis=0), 0.0, atol=1e-5)


@pytest.mark.parametrize(("inputs", "shape"), [("{image: [8, 8, 1]}", (8, 8, 1)), ("{rows: [8, 8]}", (8, 8)),
                                               ("{pixels: [64]}", (64,))])
def test_digits_reshape_to_the_input(tmp_path: Path, inputs: str, shape: tuple[int, ...]) -> None:
    data = digits(tmp_path, inputs=inputs)
    assert data.train.inputs[0].shape == (len(data.train), *shape)
    assert np.array_equal(data.train.inputs[0].reshape(len(data.train), 64), all_rows(data.train))


def test_digits_target_input_is_the_image_in_the_output_shape(tmp_path: Path) -> None:
    data = digits(tmp_path, "target: input", inputs="{pixels: [64]}", loss="mse",
                  layers="- dense: {units: 64}\n    - reshape: {shape: [8, 8, 1]}")
    assert data.train.target.shape == (len(data.train), 8, 8, 1) and data.train.target.dtype == np.float32
    assert np.array_equal(data.train.target.reshape(-1, 64), data.train.inputs[0])


# -- batches ------------------------------------------------------------------------------------
def small(n: int = 10) -> Dataset:
    split = Split((np.arange(n, dtype=np.float32)[:, None],), np.arange(n, dtype=np.int32))
    empty = Split((np.zeros((0, 1), np.float32),), np.zeros((0,), np.int32))
    return Dataset(split, empty, empty)


def test_batches_have_a_fixed_size_and_pad_with_weight_zero() -> None:
    batches = list(small(10).batches("train", 4, epoch=0, seed=0, shuffle=False))
    assert [b[1].shape for b in batches] == [(4,)] * 3
    assert [b[0][0].shape for b in batches] == [(4, 1)] * 3
    assert batches[-1][2].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert all(b[2].dtype == np.float32 for b in batches)
    assert batches[0][1].tolist() == [0, 1, 2, 3]
    assert list(small(10).batches("validation", 4, 0, 0, shuffle=True)) == []


@pytest.mark.parametrize("batch", [1, 3, 10, 16])
def test_every_example_once_per_epoch(batch: int) -> None:
    for epoch in range(3):
        seen = [t[w > 0] for _, t, w in small(10).batches("train", batch, epoch, seed=1, shuffle=True)]
        assert sorted(np.concatenate(seen).tolist()) == list(range(10))


def test_shuffle_depends_on_epoch_and_seed_only() -> None:
    def order(epoch: int, seed: int, data: Dataset | None = None) -> list[int]:
        data = data or small(50)
        return np.concatenate([t for _, t, _ in data.batches("train", 50, epoch, seed, shuffle=True)]).tolist()

    assert order(0, 0) == order(0, 0, small(50))
    assert order(0, 0) != order(1, 0)
    assert order(0, 0) != order(0, 1)
    assert order(2, 5) == order(2, 5)
    assert order(0, 0) != list(range(50))


# -- files --------------------------------------------------------------------------------------
def arrays(n: int = 40, features: int = 4, classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, features)).astype(np.float32), rng.integers(0, classes, n)


def test_npz_next_to_the_spec(tmp_path: Path) -> None:
    x, y = arrays()
    (tmp_path / "data").mkdir()
    np.savez(tmp_path / "data" / "d.npz", feats=x, labels=y)
    path, _ = write_spec(tmp_path, "{npz: {path: data/d.npz, x: feats, y: labels, validation: 0.25, test: 0.25}}")
    data = dataset(path)
    assert (len(data.train), len(data.validation), len(data.test)) == (20, 10, 10)
    assert data.train.inputs[0].dtype == np.float32 and data.train.target.dtype == np.int32
    together = np.concatenate([s.inputs[0] for s in (data.train, data.validation, data.test)])
    assert sorted(map(bytes, together)) == sorted(map(bytes, x))


def test_npy_pair_with_standard_normalisation(tmp_path: Path) -> None:
    x, _ = arrays()
    y = x.sum(axis=1, keepdims=True)
    np.save(tmp_path / "x.npy", x * 10 + 5)
    np.save(tmp_path / "y.npy", y)
    path, _ = write_spec(tmp_path, "{npy: {x: x.npy, y: y.npy, normalize: standard}}", loss="mse",
                         layers="- dense: {units: 1}")
    data = dataset(path)
    assert data.train.target.shape == (len(data.train), 1) and data.train.target.dtype == np.float32
    train = np.asarray(data.train.inputs[0])  # a memory-mapped split reads its rows when asked
    assert np.allclose(train.mean(axis=0), 0.0, atol=1e-5)
    assert np.allclose(train.std(axis=0), 1.0, atol=1e-4)


def test_csv_with_a_label_column(tmp_path: Path) -> None:
    x, y = arrays(n=20)
    lines = ["a,b,kind,c,d"] + [f"{r[0]},{r[1]},{label},{r[2]},{r[3]}" for r, label in zip(x, y, strict=True)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    path, _ = write_spec(tmp_path, "{csv: {path: t.csv, label_column: kind, validation: 0.0, test: 0.0}}",
                         batch="4")
    data = dataset(path)
    assert len(data.train) == 20 and len(data.validation) == len(data.test) == 0
    assert sorted(data.train.target.tolist()) == sorted(y.tolist())
    assert data.train.inputs[0].shape == (20, 4)


def test_integer_inputs_keep_their_dtype(tmp_path: Path) -> None:
    np.savez(tmp_path / "t.npz", x=np.arange(40 * 5).reshape(40, 5) % 7, y=np.arange(40) % 2)
    path, _ = write_spec(tmp_path, "{npz: {path: t.npz}}", inputs="{t: {shape: [5], dtype: int32}}",
                         layers="- embedding: {vocab: 7, dim: 4}\n    - flatten\n    - dense: {units: 2}")
    assert dataset(path).train.inputs[0].dtype == np.int32
    np.savez(tmp_path / "t.npz", x=np.full((40, 5), 300), y=np.arange(40) % 2)
    path, position = write_spec(tmp_path, "{npz: «t.npz}", inputs="{t: {shape: [5], dtype: uint8}}",
                                layers="- embedding: {vocab: 7, dim: 4}\n    - flatten\n    - dense: {units: 2}")
    error = data_error(path)
    assert error.code == "E705" and (error.span.line, error.span.col) == position and "uint8" in error.message


def file_case(folder: Path, case: str) -> tuple[str, Path, tuple]:
    x, y = arrays()
    np.savez(folder / "d.npz", x=x, y=y)
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    np.save(folder / "short.npy", y[:30])
    (folder / "bad.npz").write_bytes(b"not a zip file")
    (folder / "t.csv").write_text("a,b,c,d,label\n1,2,3,4,0\n1,2,x,4,1\n")
    cases = {
        "missing file": ("E701", "{npz: {path: «nope.npz}}", {}),
        "missing npy": ("E701", "{npy: {x: x.npy, y: «nope.npy}}", {}),
        "unreadable": ("E701", "{npz: {path: «bad.npz}}", {}),
        "missing key": ("E703", "{npz: {path: d.npz, x: «feats}}", {}),
        "missing column": ("E703", "{csv: {path: t.csv, label_column: «kind}}", {}),
        "input shape": ("E704", "{npz: «d.npz}", {"inputs": "{x: [5]}"}),
        "target shape": ("E704", "{npy: {x: x.npy, y: «x.npy}}", {}),
        "example counts": ("E704", "{npy: {x: x.npy, y: «short.npy}}", {}),
        "float for int input": ("E705", "{npz: {path: «d.npz}}", {
            "inputs": "{x: {shape: [4], dtype: int32}}",
            "layers": "- embedding: {vocab: 7, dim: 4}\n    - flatten\n    - dense: {units: 3}"}),
        "not a number": ("E705", "{csv: «t.csv}", {}),
        "labels out of range": ("E706", "{npz: {path: «d.npz}}", {"layers": "- dense: {units: 2}"}),
        "batch too large": ("E707", "{npz: d.npz}", {"batch": "«33"}),
    }
    code, data, options = cases[case]
    path, position = write_spec(folder, data, **options)
    return code, path, position


FILE_CASES = ["missing file", "missing npy", "unreadable", "missing key", "missing column", "input shape",
              "target shape", "example counts", "float for int input", "not a number", "labels out of range",
              "batch too large"]


@pytest.mark.parametrize("case", FILE_CASES)
def test_file_errors_are_located(tmp_path: Path, case: str) -> None:
    code, path, position = file_case(tmp_path, case)
    error = data_error(path)
    assert error.code == code, error.headline()
    assert (error.span.file, error.span.line, error.span.col) == (str(path), *position), error.headline()
    assert error.stage == "data"


def test_error_messages_name_the_file_and_both_shapes(tmp_path: Path) -> None:
    _, path, _ = file_case(tmp_path, "input shape")
    message = data_error(path).message
    assert "'d.npz'" in message and "(5,)" in message and "(4,)" in message
    _, path, _ = file_case(tmp_path, "labels out of range")
    assert "range(2)" in data_error(path).message
    _, path, _ = file_case(tmp_path, "missing file")
    assert "'nope.npz'" in data_error(path).message


def test_digits_batch_larger_than_the_train_split(tmp_path: Path) -> None:
    path, position = write_spec(tmp_path, "{digits: {validation: 0.5, test: 0.45}}", inputs="{image: [64]}",
                                layers="- dense: {units: 10}", batch="«100")
    error = data_error(path)
    assert error.code == "E707" and (error.span.line, error.span.col) == position
    assert "90 examples" in error.message


def test_errors_in_the_dsl_point_at_positional_paths(tmp_path: Path) -> None:
    text = ("dslc 1\n\nmodel m(x: [4]) {\n  dense(3)\n}\n\ntrain {\n  loss = softmax_cross_entropy\n"
            "  optimizer = adam(0.01)\n  batch = 8\n  steps = 10\n  data = npz(«\"nope.npz\")\n}\n")
    path, position = _write(tmp_path / "spec.dsl", text)
    error = data_error(path)
    assert error.code == "E701" and (error.span.line, error.span.col) == position, error.headline()


def test_a_symlink_out_of_the_spec_folder_is_refused(tmp_path: Path) -> None:
    x, y = arrays()
    np.savez(tmp_path / "secret.npz", x=x, y=y)
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "link.npz").symlink_to(tmp_path / "secret.npz")
    path, position = write_spec(folder, "{npz: {path: «link.npz}}")
    error = data_error(path)
    assert error.code == "E702" and (error.span.line, error.span.col) == position
    assert "outside the spec's folder" in error.message
    (folder / "inner.npz").symlink_to(folder / "link.npz")  # a link that stays inside still escapes at the end
    path, _ = write_spec(folder, "{npz: {path: inner.npz}}")
    assert data_error(path).code == "E702"


def test_a_symlink_inside_the_folder_is_followed(tmp_path: Path) -> None:
    x, y = arrays()
    (tmp_path / "store").mkdir()
    np.savez(tmp_path / "store" / "d.npz", x=x, y=y)
    (tmp_path / "alias.npz").symlink_to(tmp_path / "store" / "d.npz")
    path, _ = write_spec(tmp_path, "{npz: alias.npz}")
    assert len(dataset(path).train) == 32


# -- synthetic ----------------------------------------------------------------------------------
def test_adding_targets_are_the_sum_of_the_marked_values(tmp_path: Path) -> None:
    path, _ = write_spec(tmp_path, "{synthetic: {task: adding, samples: 200, length: 12}}", inputs="{s: [12, 2]}",
                         layers="- lstm: {units: 4}\n    - dense: {units: 1}", loss="mse")
    data = dataset(path)
    assert (len(data.train), len(data.validation), len(data.test)) == (160, 20, 20)
    for split in (data.train, data.validation, data.test):
        x = split.inputs[0]
        assert x.shape[1:] == (12, 2) and x.dtype == np.float32 and split.target.shape == (len(split), 1)
        assert np.all(x[:, :, 1].sum(axis=1) == 2)
        assert np.allclose((x[:, :, 0] * x[:, :, 1]).sum(axis=1), split.target[:, 0], atol=1e-6)
    assert np.array_equal(dataset(path).train.inputs[0], data.train.inputs[0])
    assert not np.array_equal(dataset(path, seed=1).train.inputs[0], data.train.inputs[0])


def test_adding_needs_a_sequence_input_of_two_features(tmp_path: Path) -> None:
    path, position = write_spec(tmp_path, "{«synthetic: {task: adding, length: 12}}", inputs="{s: [12, 3]}",
                                layers="- lstm: {units: 4}\n    - dense: {units: 1}", loss="mse")
    error = data_error(path)
    assert error.code == "E704" and (error.span.line, error.span.col) == position


def test_random_task_fits_inputs_and_loss(tmp_path: Path) -> None:
    path, _ = write_spec(tmp_path, "{synthetic: {task: random, samples: 100}}",
                         inputs="{t: {shape: [6], dtype: int32}, f: [3]}",
                         layers="- embedding: {vocab: 10, dim: 2}\n      from: t\n    - flatten: {}\n"
                                "      name: e\n    - concat: {}\n      from: [e, f]\n    - dense: {units: 5}")
    data = dataset(path)
    tokens, features = data.train.inputs
    assert tokens.dtype == np.int32 and tokens.min() >= 0 and tokens.max() < 10 and tokens.shape == (80, 6)
    assert features.dtype == np.float32 and features.shape == (80, 3)
    assert data.train.target.dtype == np.int32 and set(np.unique(data.train.target)) <= set(range(5))


def test_digits_are_read_without_importing_sklearn_datasets_and_equal_load_digits() -> None:
    from sklearn.datasets import load_digits

    from dslc.runtime.data import _digits_arrays

    pixels, labels = _digits_arrays()
    expected_pixels, expected_labels = load_digits(return_X_y=True)
    assert pixels.shape == (1797, 64) and (pixels == expected_pixels).all() and (labels == expected_labels).all()


def test_real_valued_targets_under_a_class_loss_point_at_mse(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.zeros((40, 4), np.float32), y=np.linspace(0.0, 1.0, 40).astype(np.float32))
    path, _ = write_spec(tmp_path, "{npz: d.npz}")
    error = data_error(path)
    assert error.code == "E705" and "not whole numbers" in error.message, error.headline()
    assert error.hint == "for real-valued targets use loss: mse (or mae, huber)"
