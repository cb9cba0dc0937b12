"""Memory-mapped .npy data (lazy splits, chunked statistics, bounded memory) and normalised regression targets."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from dslc.compiler.analysis.analyse import analyse
from dslc.runtime import arrays
from dslc.runtime.arrays import LazyRows, RowReader, Scaling, Statistics, feature_scaling
from dslc.runtime.cli import main
from dslc.runtime.data import Dataset, load_dataset
from dslc.spec.load import load

ROOT = Path(__file__).resolve().parents[2]
FEATURES = 6


def spec(folder: Path, data: str, *, loss: str = "mse", units: int = 1, batch: int = 16, epochs: int = 1,
         metrics: str = "[mae]", inputs: str = f"[{FEATURES}]") -> Path:
    """A one-layer model on `inputs` (1-D) trained on `data`."""
    path = folder / "spec.yaml"
    path.write_text(textwrap.dedent(f"""\
        dslc: 1
        model:
          name: m
          inputs: {{x: {inputs}}}
          layers:
            - dense: {{units: {units}}}
        train:
          loss: {loss}
          optimizer: {{adam: {{lr: 0.01}}}}
          batch: {batch}
          epochs: {epochs}
          metrics: {metrics}
          data: {data}
        """))
    return path


def regression(folder: Path, n: int = 200, dtype: type = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """x (n, FEATURES) with features on different scales; y = 100 + 40 * (a linear function), like diabetes."""
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((n, FEATURES)) * np.arange(1, FEATURES + 1) * 10 + 50).astype(dtype)
    y = (100 + 40 * (x @ rng.standard_normal(FEATURES)) / 100).reshape(-1, 1).astype(np.float32)
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    np.savez(folder / "xy.npz", x=x, y=y)
    return x, y


def dataset(path: Path, seed: int = 0) -> Dataset:
    loaded = load(path)
    return load_dataset(loaded, analyse(loaded), seed)


# -- lazy splits --------------------------------------------------------------------------------
def test_a_mapped_split_gathers_what_the_in_memory_split_holds(tmp_path: Path) -> None:
    regression(tmp_path)
    options = "validation: 0.2, test: 0.1, normalize: standard"
    lazy = dataset(spec(tmp_path, f"{{npy: {{x: x.npy, y: y.npy, {options}}}}}"))
    eager = dataset(spec(tmp_path, f"{{npz: {{path: xy.npz, {options}}}}}"))
    for name in ("train", "validation", "test"):
        mapped, memory = lazy.split(name), eager.split(name)
        assert isinstance(mapped.inputs[0], LazyRows) and isinstance(memory.inputs[0], np.ndarray)
        assert mapped.inputs[0].shape == memory.inputs[0].shape and mapped.inputs[0].dtype == np.float32
        index = np.random.default_rng(0).integers(0, len(mapped), (3, 5))
        (got,), got_target = lazy.gather(name, index)
        (want,), want_target = eager.gather(name, index)
        assert got.shape == (3, 5, FEATURES) and got.dtype == np.float32
        assert np.array_equal(got, want) and np.array_equal(got_target, want_target)
    assert np.array_equal(lazy.statistics.inputs.shift, eager.statistics.inputs.shift)  # type: ignore[union-attr]
    batches = [list(data.batches("train", 16, 2, 0, shuffle=True)) for data in (lazy, eager)]
    for (x1, y1, w1), (x2, y2, w2) in zip(*batches, strict=True):
        assert np.array_equal(x1[0], x2[0]) and np.array_equal(y1, y2) and np.array_equal(w1, w2)


@pytest.mark.parametrize("order", ["C", "F"])
def test_a_mapped_split_crosses_to_a_worker_process_as_its_path(tmp_path: Path, order: str) -> None:
    """`--workers` pickles the train split into each worker: the file is mapped again there, not copied."""
    x = np.arange(4000 * FEATURES, dtype=np.float32).reshape(4000, FEATURES)
    np.save(tmp_path / "x.npy", x if order == "C" else np.asfortranarray(x))
    reader = RowReader.of(np.load(tmp_path / "x.npy", mmap_mode="r")).reshaped((3, 2)).cast(np.float32)
    split = LazyRows(reader, np.arange(10, 4000), Scaling(np.asarray(1.0), np.asarray(2.0)))
    pickled = pickle.dumps(split)
    assert len(pickled) < x.nbytes // 2  # the row indices (8 bytes each), not the 96 kB of values
    again = pickle.loads(pickled)
    assert isinstance(again.reader.array, np.memmap) and again.reader.mapped
    index = np.array([[0, 5], [3, 3989]])
    assert again[index].dtype == np.float32 and np.array_equal(again[index], split[index])


def test_the_mapped_array_is_never_copied_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each read asks for a chunk or a batch of rows, never the array: counted at the reader."""
    monkeypatch.setattr(arrays, "CHUNK_BYTES", 20 * FEATURES * 8)  # 20 rows a chunk
    regression(tmp_path, n=300, dtype=np.float32)
    reads: list[int] = []
    take = RowReader.take

    def counting(self: RowReader, rows: np.ndarray) -> np.ndarray:
        reads.append(len(rows))
        return take(self, rows)

    monkeypatch.setattr(RowReader, "take", counting)
    data = dataset(spec(tmp_path, "{npy: {x: x.npy, y: y.npy, normalize: minmax}}"))
    split = data.train.inputs[0]
    assert isinstance(split, LazyRows) and isinstance(split.reader.array, np.memmap)
    assert reads and max(reads) <= 20  # the statistics: chunk by chunk
    assert sum(reads) == len(data.train)  # minmax: one pass over the train rows only
    reads.clear()
    for _ in data.batches("train", 16, 1, 0, shuffle=True):
        pass
    assert max(reads) <= 16 and sum(reads) == 16 * -(-len(data.train) // 16)


def test_rows_read_from_the_file_do_not_stay_resident(tmp_path: Path) -> None:
    """32 MiB read a row at a time at random leave the process's resident file pages where they were."""
    rows, width = 8192, 1024
    np.lib.format.open_memmap(tmp_path / "big.npy", mode="w+", dtype=np.float32, shape=(rows, width))[:] = 1.0
    reader = RowReader.of(np.load(tmp_path / "big.npy", mmap_mode="r", allow_pickle=False))
    before = _resident_file_kib()
    order = np.random.default_rng(0).permutation(rows)
    total = sum(float(reader.take(order[start:start + 512]).sum()) for start in range(0, rows, 512))
    assert total == rows * width
    assert _resident_file_kib() - before < 8 * 1024  # < 8 MiB of the 32 MiB read


def _resident_file_kib() -> int:
    status = Path("/proc/self/status")
    if not status.exists():
        pytest.skip("needs Linux's /proc")
    line = next(line for line in status.read_text().splitlines() if line.startswith("RssFile:"))
    return int(line.split()[1])


# -- chunked statistics -------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["standard", "minmax"])
def test_chunked_statistics_equal_numpys(tmp_path: Path, how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arrays, "CHUNK_BYTES", 7 * 12 * 8)  # 7 rows a chunk: the last one partial
    rng = np.random.default_rng(1)
    values = (rng.standard_normal((101, 3, 4)) * 1000 + 5e4).astype(np.float32)
    values[:, 0, 0] = 2.0  # a constant feature: scale 1, not 0
    np.save(tmp_path / "v.npy", values)
    reader = RowReader.of(np.load(tmp_path / "v.npy", mmap_mode="r"))
    rows = np.sort(rng.choice(101, 80, replace=False))
    scaling = feature_scaling(reader, rows, how)
    train = values[rows].astype(np.float64)
    if how == "standard":
        want_shift, want_scale = train.mean(axis=0), train.std(axis=0)
    else:
        want_shift, want_scale = train.min(axis=0), train.max(axis=0) - train.min(axis=0)
    want_scale[0, 0] = 1.0
    assert scaling.shift.shape == scaling.scale.shape == (3, 4)
    np.testing.assert_allclose(scaling.shift, want_shift, rtol=1e-13)
    np.testing.assert_allclose(scaling.scale, want_scale, rtol=1e-11)
    in_memory = feature_scaling(RowReader(values), rows, how)  # one chunk: numpy's own, exactly
    assert np.array_equal(in_memory.shift, want_shift) and np.array_equal(in_memory.scale, want_scale)


def test_statistics_round_trip_through_json() -> None:
    stats = Statistics(Scaling(np.array([1.5, -2.0]), np.array([3.0, 0.25])), Scaling(np.array(7.0), np.array(2.0)))
    again = Statistics.from_json(json.loads(json.dumps(stats.to_json())))
    assert again.inputs is not None and again.target is not None
    assert np.array_equal(again.inputs.scale, [3.0, 0.25]) and float(again.target.shift) == 7.0
    assert Statistics.from_json(Statistics().to_json()) == Statistics()
    y = np.array([[1.0], [9.0]], np.float32)
    assert np.array_equal(stats.target.undo(stats.target.apply(y)), y)  # type: ignore[union-attr]


# -- normalised targets -------------------------------------------------------------------------
def test_targets_are_standardised_by_the_train_split(tmp_path: Path) -> None:
    _, y = regression(tmp_path)
    data = dataset(spec(tmp_path, "{npy: {x: x.npy, y: y.npy, normalize_target: standard}}"))
    target = data.statistics.target
    assert target is not None and data.statistics.inputs is None
    raw_train = target.undo(data.train.target)
    np.testing.assert_allclose(target.shift, raw_train.astype(np.float64).mean(axis=0), rtol=1e-6)
    assert abs(float(data.train.target.mean())) < 1e-5 and abs(float(data.train.target.std()) - 1) < 1e-5
    every = np.concatenate([target.undo(s.target) for s in (data.train, data.validation, data.test)])
    np.testing.assert_allclose(np.sort(every, axis=0), np.sort(y, axis=0), rtol=1e-6)


def test_target_normalisation_needs_a_regression_loss(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.dsl"
    path.write_text("dslc 1\nmodel m(x: [4]) {\n  dense(3)\n}\ntrain {\n  loss = softmax_cross_entropy\n"
                    "  optimizer = adam(0.01)\n  batch = 4\n  epochs = 1\n"
                    '  data = npz("d.npz", normalize_target=standard)\n}\n')
    assert main(["check", str(path)]) == 2
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "E611" in line)
    assert line.startswith(f"{path}:10:40:") and "normalize_target=standard" in line and "class ids" in line
    assert "Traceback" not in out


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    """A regression trained for 2 epochs with normalised inputs and targets: (spec, workdir, test x, test y)."""
    folder = tmp_path_factory.mktemp("regression")
    x, y = regression(folder)
    path = spec(folder, "{npy: {x: x.npy, y: y.npy, normalize: standard, normalize_target: standard}}",
                epochs=2, metrics="[mse, mae]")
    workdir = folder / "run"
    assert main(["train", str(path), "--workdir", str(workdir), "--quiet", "--compile-cache", "off"]) == 0
    rows = dataset(path).test.inputs[0].rows  # type: ignore[union-attr]
    np.save(folder / "test_x.npy", x[rows])
    return path, workdir, x[rows], y[rows]


def test_predict_and_eval_are_in_the_datas_units(trained: tuple[Path, Path, np.ndarray, np.ndarray],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path, workdir, test_x, test_y = trained
    capsys.readouterr()
    output = path.parent / "predicted.npy"
    assert main(["predict", str(path), "--checkpoint", str(workdir), "--input", str(path.parent / "test_x.npy"),
                 "--output", str(output), "--compile-cache", "off"]) == 0
    assert "wrote 20 predictions" in capsys.readouterr().out
    predicted = np.load(output)
    assert predicted.shape == test_y.shape
    assert abs(float(predicted.mean() - test_y.mean())) < float(test_y.std())  # the targets' units, not about 0
    assert main(["eval", str(path), "--checkpoint", str(workdir), "--format", "json", "--compile-cache", "off"]) == 0
    report = json.loads(capsys.readouterr().out)
    metrics = report["metrics"]
    assert report["loss_normalized"] is True and report["examples"] == len(test_y)
    errors = predicted.astype(np.float64) - test_y
    assert metrics["mae"] == pytest.approx(np.abs(errors).mean(), rel=1e-4)
    assert metrics["mse"] == pytest.approx(np.square(errors).mean(), rel=1e-4)
    scale = float(np.ravel(_stored(workdir)["target"]["scale"])[0])
    assert metrics["loss"] == pytest.approx(metrics["mse"] / scale**2, rel=1e-4)  # the loss: normalised units


def test_the_statistics_are_stored_with_each_checkpoint(trained: tuple[Path, Path, np.ndarray, np.ndarray]) -> None:
    path, workdir, _, _ = trained
    stored = _stored(workdir)
    data = dataset(path)
    assert data.statistics.target is not None and data.statistics.inputs is not None
    assert np.allclose(stored["target"]["shift"], data.statistics.target.shift)
    assert np.allclose(stored["inputs"]["scale"], data.statistics.inputs.scale)


def _stored(workdir: Path) -> dict:
    """The statistics in the latest checkpoint's record (orbax writes the record as JSON)."""
    latest = max(workdir.glob("checkpoints/*/record/metadata"), key=lambda file: int(file.parts[-3]))
    return json.loads(latest.read_text())["statistics"]


# -- bigger than memory -------------------------------------------------------------------------
# The child's own high-water mark of resident memory. Not ru_maxrss: Linux carries the parent's across fork and exec.
PEAK = """
import sys, time
from pathlib import Path
from dslc.runtime.cli import main
started = time.perf_counter()
code = main(sys.argv[1:])
peak = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:"))
print("PEAK", int(peak.split()[1]) * 1024, time.perf_counter() - started, file=sys.stderr)
sys.exit(code)
"""


def _write_wide(folder: Path, rows: int, width: int) -> int:
    """float32 inputs (rows, width) written block by block (never whole in memory) and their targets; bytes."""
    with open(folder / "x.npy", "wb") as file:
        np.lib.format.write_array_header_1_0(file, {"descr": "<f4", "fortran_order": False, "shape": (rows, width)})
        y = np.empty((rows, 1), np.float32)
        rng = np.random.default_rng(0)
        weights = rng.standard_normal(width).astype(np.float32)
        for start in range(0, rows, 8192):
            block = rng.standard_normal((min(8192, rows - start), width), dtype=np.float32) * 3 + 1
            file.write(block.tobytes())
            y[start:start + len(block), 0] = block @ weights * 10 + 100
    np.save(folder / "y.npy", y)
    return rows * width * 4


def _peak_rss(folder: Path, rows: int, width: int, *options: str) -> tuple[int, float, int]:
    """Train one epoch on `rows` x `width` floats in a fresh process: (its peak RSS, seconds, data bytes)."""
    if not Path("/proc/self/status").exists():
        pytest.skip("needs Linux's /proc")
    folder.mkdir()
    size = _write_wide(folder, rows, width)
    path = spec(folder, "{npy: {x: x.npy, y: y.npy, validation: 0.02, test: 0.02, normalize: standard, "
                        "normalize_target: standard}}", batch=4096, metrics="[mae]", inputs=f"[{width}]")
    result = subprocess.run([sys.executable, "-c", PEAK, "train", str(path), "--workdir", str(folder / "run"),
                             "--quiet", "--compile-cache", "off", *options],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    peak, seconds = result.stderr.split("PEAK")[-1].split()
    return int(peak), float(seconds), size


def test_training_on_a_mapped_file_keeps_its_memory_bounded(tmp_path: Path) -> None:
    """320 MiB of data: the run's peak RSS is that of a run on 1/16 of it, give or take a quarter of the data.

    JAX alone holds about 400 MiB, so the bound is on what the data adds. `--fuse 1`: a chunk of fused steps
    holds up to 64 MiB of batches (`MAX_CHUNK_BYTES`), a constant that a small file would not show.
    """
    width, rows = 256, 327_680
    small, _, _ = _peak_rss(tmp_path / "small", rows // 16, width, "--fuse", "1")
    big, seconds, size = _peak_rss(tmp_path / "big", rows, width, "--fuse", "1")
    print(f"data {size / 2**20:.0f} MiB: peak RSS {big / 2**20:.0f} MiB (1/16 of the data: {small / 2**20:.0f} "
          f"MiB), {seconds:.1f} s")
    assert big - small < size / 4


@pytest.mark.fuzz
def test_training_on_a_file_bigger_than_the_memory_bound(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """On demand (`pytest -m fuzz`): 3 GiB of data, over 4 times the run's peak RSS, fused steps as by default."""
    expression = request.config.getoption("markexpr") or ""
    if "fuzz" not in expression or "not fuzz" in expression:
        pytest.skip("3 GiB of data on disk: select it with -m fuzz")
    width, rows = 1024, 786_432
    small, _, _ = _peak_rss(tmp_path / "small", rows // 64, width)
    big, seconds, size = _peak_rss(tmp_path / "big", rows, width)
    print(f"data {size / 2**20:.0f} MiB: peak RSS {big / 2**20:.0f} MiB (1/64 of the data: {small / 2**20:.0f} "
          f"MiB), {seconds:.1f} s")
    assert big - small < size / 8 and 4 * big < size


# -- the example --------------------------------------------------------------------------------
def test_the_diabetes_example_trains_on_normalised_targets(tmp_path: Path) -> None:
    """`python examples/write_data.py diabetes` writes the data; one epoch's loss is in the targets' units."""
    script = subprocess.run([sys.executable, str(ROOT / "examples" / "write_data.py"), "--folder",
                             str(tmp_path / "data"), "diabetes"], capture_output=True, text=True, timeout=120)
    assert script.returncode == 0, script.stderr
    assert np.load(tmp_path / "data" / "diabetes_x.npy").shape == (442, 10)
    path = tmp_path / "diabetes.dsl"
    path.write_text((ROOT / "examples" / "diabetes.dsl").read_text())
    workdir = tmp_path / "run"
    assert main(["train", str(path), "--epochs", "1", "--workdir", str(workdir), "--quiet",
                 "--compile-cache", "off"]) == 0
    first = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    train, validation = (next(r for r in first if r["split"] == split) for split in ("train", "validation"))
    assert train["loss"] < 3  # standard deviations of the targets, not their squared units (about 29,000)
    assert validation["mae"] > 20  # the data's units: disease progression 25..346
