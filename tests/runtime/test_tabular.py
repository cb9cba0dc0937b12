"""Tabular data (CSV and Parquet): faults located by the spec's data argument and by file:row:col, labels checked
against the loss, the same arrays as a plain reader, bounded memory and output for hostile files."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from dslc.compiler import data_files
from dslc.compiler.analysis.analyse import analyse
from dslc.runtime import tabular
from dslc.runtime.cli import main
from dslc.runtime.data import Dataset, load_dataset
from dslc.spec.errors import DslcError, Span
from dslc.spec.load import load

HEADER = "a,b,c,label"
GOOD = "1,2,3,0\n4,5,6,1\n"
DATA_ARGUMENT = "12:22"  # where `path` is written in the spec's `data` line below


def write_spec(folder: Path, data: str, loss: str = "softmax_cross_entropy", units: int = 2) -> Path:
    path = folder / "spec.yaml"
    path.write_text(f"dslc: 1\nmodel:\n  name: m\n  inputs: {{x: [3]}}\n  layers:\n    - dense: {{units: {units}}}\n"
                    f"train:\n  loss: {loss}\n  optimizer: {{adam: {{lr: 0.01}}}}\n  batch: 2\n  epochs: 1\n"
                    f"  data: {data}\n")
    return path


def train(capsys: pytest.CaptureFixture[str], spec: Path) -> tuple[int, str]:
    """`dslc train` in process: its exit code and its error headline (data faults stop it before JAX)."""
    code = main(["train", str(spec), "--quiet", "--workdir", str(spec.parent / "run")])
    return code, capsys.readouterr().err.splitlines()[0] if code else ""


def csv_fault(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | bytes) -> str:
    """The error headline of training on `text` as t.csv, less the spec's file name; exit 2."""
    (tmp_path / "t.csv").write_bytes(text.encode() if isinstance(text, str) else text)
    spec = write_spec(tmp_path, "{csv: {path: t.csv, validation: 0, test: 0}}")
    code, headline = train(capsys, spec)
    assert code == 2, headline
    return headline.removeprefix(f"{spec}:")


# -- CSV faults ---------------------------------------------------------------------------------
CSV_FAULTS = {
    "empty cell": (f"{HEADER}\n{GOOD}1,,3,1\n", "E705]: t.csv:4:2 (column 'b'): the cell is empty"),
    "blank cell": (f"{HEADER}\n{GOOD}1,2,  ,1\n", "E705]: t.csv:4:3 (column 'c'): the cell is empty"),
    "non-numeric": (f"{HEADER}\n{GOOD}1,2,3,0\n\n1,2,yes,0\n", "E705]: t.csv:6:3 (column 'c'): 'yes' is not a number"),
    "nan": (f"{HEADER}\n1,NaN,3,0\n{GOOD}", "E705]: t.csv:2:2 (column 'b'): 'NaN' is not a finite number"),
    "inf": (f"{HEADER}\n{GOOD}-inf,2,3,0\n", "E705]: t.csv:4:1 (column 'a'): '-inf' is not a finite number"),
    "overflow": (f"{HEADER}\n{GOOD}1,2,1e999,0\n", "E705]: t.csv:4:3 (column 'c'): '1e999' is not a finite number"),
    "short row": (f"{HEADER}\n{GOOD}1,2,3\n", "E704]: t.csv:4: expected 4 cells (as the header), got 3"),
    "long row": (f"{HEADER}\n1,2,3,0,9\n{GOOD}", "E704]: t.csv:2: expected 4 cells (as the header), got 5"),
    "missing column": ("a,b,c,kind\n1,2,3,0\n", "E703]: data file 't.csv' has no column 'label' (4 columns: 'a', "
                                               "'b', 'c', 'kind')"),
    "empty file": ("", "E701]: data file 't.csv' cannot be read as CSV: 'the file is empty'"),
    "blank lines only": ("\n\n\r\n", "E701]: data file 't.csv' cannot be read as CSV: 'the file is empty'"),
    "header only": (f"{HEADER}\n\n", "E704]: data file 't.csv' has a header but no data rows"),
    "lone carriage return": (f"{HEADER}\n{GOOD}1,2,3,0\r4,5,6,1\n",  # a row end for pyarrow, not a line
                             "E701]: data file 't.csv' cannot be read as CSV: 'line 4: new-line character seen in "
                             "unquoted field - do you …"),
}


@pytest.mark.parametrize("case", list(CSV_FAULTS))
def test_csv_faults_are_located_in_the_spec_and_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         case: str) -> None:
    text, expected = CSV_FAULTS[case]
    assert csv_fault(tmp_path, capsys, text) == f"{DATA_ARGUMENT}: error[{expected}"


def test_a_long_cell_is_shown_truncated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    headline = csv_fault(tmp_path, capsys, f"{HEADER}\n{GOOD}1,{'x' * 10_000},3,0\n")
    assert headline.startswith(f"{DATA_ARGUMENT}: error[E705]: t.csv:4:2 (column 'b'): 'xxx") and len(headline) < 200


def test_a_fault_in_a_later_block_names_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabular, "BLOCK_BYTES", 64)  # many blocks, cut inside lines
    rows = [f"{i},{i + 1},{i + 2},{i % 2}" for i in range(200)]
    rows[150] = "1,2,3,x"
    headline = csv_fault(tmp_path, capsys, HEADER + "\n" + "\n".join(rows) + "\n")
    assert headline == f"{DATA_ARGUMENT}: error[E705]: t.csv:152:4 (column 'label'): 'x' is not a number"


def test_a_missing_label_column_lists_a_bounded_header(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    header = ",".join(f"feature_{i}_{'w' * 50}" for i in range(100_000))  # a 6 MB header line
    headline = csv_fault(tmp_path, capsys, header + "\n")
    assert "has no column 'label' (100,000 columns: 'feature_0_" in headline and "and 99,988 more)" in headline
    assert len(headline) < 1200


def test_a_file_on_one_line_stops_early_with_bounded_memory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    size = 64 << 20
    with (tmp_path / "t.csv").open("wb") as handle:
        for _ in range(size >> 20):
            handle.write(b"1.5," * (1 << 18))
    spec = write_spec(tmp_path, "{csv: t.csv}")
    tracemalloc.start()
    try:
        code, headline = train(capsys, spec)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 2
    assert headline == (f"{spec}:12:15: error[E701]: t.csv:1: the line is longer than 16 MiB, the longest CSV "
                        "line read")
    assert peak < 3 * tabular.MAX_LINE_BYTES < size


def test_a_long_data_line_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabular, "MAX_LINE_BYTES", 1024)
    monkeypatch.setattr(data_files, "MAX_LINE_BYTES", 1024)  # the message's figure
    monkeypatch.setattr(tabular, "BLOCK_BYTES", 256)
    headline = csv_fault(tmp_path, capsys, f"{HEADER}\n{GOOD}{'1' * 2000},2,3,0\n")
    assert headline == (f"{DATA_ARGUMENT}: error[E701]: t.csv:4: the line is longer than 1,024 bytes, the longest "
                        "CSV line read")


def test_a_file_that_is_not_utf8_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    headline = csv_fault(tmp_path, capsys, b"\xff\xfe\x00a,b\n")
    assert headline.startswith(f"{DATA_ARGUMENT}: error[E701]: data file 't.csv' cannot be read as CSV: ")
    assert "line 1: 'utf-8' codec can't decode byte 0xff" in headline
    headline = csv_fault(tmp_path, capsys, f"{HEADER}\n{GOOD}1,\xff,3,0\n".encode("latin-1"))
    assert headline == f"{DATA_ARGUMENT}: error[E705]: t.csv:4:2 (column 'b'): '\ufffd' is not a number"


@pytest.mark.parametrize("cell", ["1.", ".5", "+1", "-2e3", "1E+5", " 7 ", '"2.5"', "00012", "1e", "e5", ".", "+",
                                  "0x10", "1_000", "1d5", "\u0661", "nan", "-Infinity", "inf", "INF", "1e999"])
def test_the_scan_agrees_with_pyarrow_on_what_a_finite_number_is(tmp_path: Path, cell: str) -> None:
    text = f"a,label\n{cell},0\n".encode()
    (tmp_path / "t.csv").write_bytes(text)
    try:
        value = pacsv.read_csv(io.BytesIO(text), convert_options=pacsv.ConvertOptions(
            column_types={"a": pa.float64()}, null_values=[""])).column(0)[0].as_py()
        finite = bool(np.isfinite(value))
    except pa.ArrowInvalid:
        finite = False
    span = Span("spec.yaml", 1, 1)
    try:
        table = tabular.read_table(tmp_path / "t.csv", "csv", tabular.Request("t.csv", "label", None, span, span, span))
        assert finite and table.features.tolist() == [[value]]
    except DslcError as error:  # the scan found the cell pyarrow refused
        assert not finite and error.message.startswith("t.csv:2:1 (column 'a'): "), error.message


# -- chosen columns -----------------------------------------------------------------------------
def test_chosen_columns_are_the_features_in_their_order(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("id,a,b,label,c\nx-1,1,2,0,3\nx-2,4,,1,6\n")  # id and b are never read
    loaded = load(write_spec(tmp_path, "{csv: {path: t.csv, columns: [c, a, c], validation: 0, test: 0}}"))
    data = load_dataset(loaded, analyse(loaded), 0)
    assert data.train.inputs[0].tolist() == [[3, 1, 3], [6, 4, 6]] and data.train.target.tolist() == [0, 1]
    write_parquet(tmp_path, name=["p", "q", "r", "s"])
    loaded = load(write_spec(tmp_path, "{parquet: {path: t.parquet, columns: [c, a, b], validation: 0, test: 0}}"))
    assert load_dataset(loaded, analyse(loaded), 0).train.inputs[0][:, 0].tolist() == \
        np.float32([0.5, 0.1, 0.2, 0.3]).tolist()


def test_chosen_column_faults(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "t.csv").write_text("id,a,b,label,c\nx-1,1,2,0,3\nx-2,4,5,1\n")
    spec = write_spec(tmp_path, "{csv: {path: t.csv, columns: [c, d, a]}}")
    assert train(capsys, spec)[1] == (f"{spec}:12:38: error[E703]: data file 't.csv' has no column 'd' (5 columns: "
                                      "'id', 'a', 'b', 'label', 'c')")
    spec = write_spec(tmp_path, "{csv: {path: t.csv, columns: [c, label, a]}}")
    assert train(capsys, spec)[1] == (f"{spec}:12:38: error[E704]: column 'label' is the label; it cannot be a "
                                      "feature too")
    spec = write_spec(tmp_path, "{csv: {path: t.csv, columns: [c, b, a]}}")
    assert train(capsys, spec)[1] == f"{spec}:12:22: error[E704]: t.csv:3: expected 5 cells (as the header), got 4"
    write_parquet(tmp_path, name=["p", "q", "r", "s"])
    spec = write_spec(tmp_path, "{parquet: {path: t.parquet, columns: [c, name, a]}}")
    assert train(capsys, spec)[1] == (f"{spec}:12:26: error[E705]: t.parquet: column 5 ('name') holds string "
                                      "values, not numbers")


# -- labels ---------------------------------------------------------------------------------------
def test_a_label_of_2_under_a_binary_loss(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "t.csv").write_text(f"{HEADER}\n{GOOD}\n7,8,9,2\n")
    spec = write_spec(tmp_path, "{csv: {path: t.csv, test: 0}}", loss="sigmoid_binary_cross_entropy", units=1)
    assert train(capsys, spec) == (2, f"{spec}:{DATA_ARGUMENT}: error[E706]: t.csv:5:4 (column 'label'): label 2 is "
                                      "not 0 or 1, as loss 'sigmoid_binary_cross_entropy' needs")


def test_class_labels_out_of_range_and_not_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "t.csv").write_text(f"{HEADER}\n{GOOD}7,8,9,3\n1,1,1,-1\n")
    spec = write_spec(tmp_path, "{csv: {path: t.csv, test: 0}}", units=3)
    assert train(capsys, spec)[1].endswith("error[E706]: t.csv:4:4 (column 'label'): class id 3 is outside range(3) "
                                           "(the model's output (3,) has 3 classes); labels span -1..3")
    (tmp_path / "t.csv").write_text(f"{HEADER}\n{GOOD}7,8,9,0.5\n")
    assert train(capsys, spec)[1].endswith("error[E705]: t.csv:4:4 (column 'label'): loss 'softmax_cross_entropy' "
                                           "needs integer class ids, got values that are not whole numbers, first 0.5")


def test_arrays_name_the_example_of_a_bad_label(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.savez(tmp_path / "t.npz", x=np.zeros((6, 3)), y=np.array([0, 1, 1, 0.5, 0, 1]))
    spec = write_spec(tmp_path, "{npz: t.npz}", loss="sigmoid_binary_cross_entropy", units=1)
    assert train(capsys, spec)[1].endswith("error[E706]: 't.npz' key 'y', example 3: label 0.5 is not 0 or 1, as "
                                           "loss 'sigmoid_binary_cross_entropy' needs")


def test_labels_of_regression_losses_are_any_numbers(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text(f"{HEADER}\n{GOOD}7,8,9,2.5\n")
    loaded = load(write_spec(tmp_path, "{csv: {path: t.csv, validation: 0, test: 0}}", loss="mse", units=1))
    target = load_dataset(loaded, analyse(loaded), 0).train.target
    assert sorted(target.ravel().tolist()) == [0.0, 1.0, 2.5]


# -- the same arrays as before ------------------------------------------------------------------
def plain_csv(path: Path, label_column: str) -> tuple[np.ndarray, np.ndarray]:
    """The CSV reader tabular data replaced: the csv module and float(), the whole file in memory."""
    with path.open(newline="") as handle:
        rows = [row for row in csv.reader(handle) if row]
    values = np.array([[float(cell) for cell in row] for row in rows[1:]], np.float64)
    label = [name.strip() for name in rows[0]].index(label_column)
    return np.delete(values, label, axis=1), values[:, label]


def dataset(folder: Path, data: str) -> Dataset:
    loaded = load(write_spec(folder, data, units=3))
    return load_dataset(loaded, analyse(loaded), seed=5)


def assert_same(first: Dataset, second: Dataset) -> None:
    for name in ("train", "validation", "test"):
        one, two = first.split(name), second.split(name)
        assert one.target.dtype == two.target.dtype and np.array_equal(one.target, two.target)
        assert one.inputs[0].dtype == two.inputs[0].dtype and np.array_equal(one.inputs[0], two.inputs[0])


def test_csv_and_parquet_give_the_arrays_of_the_plain_reader(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabular, "BLOCK_BYTES", 512)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((300, 3)) * 1e3, rng.integers(0, 3, 300)
    lines = ["a, kind ,b,c"] + [f"{float(r[0])!r},{label},{r[1]:.7g},{r[2]:.3e}" for r, label in zip(x, y, strict=True)]
    lines[40:40] = ["", "\r"]  # empty lines hold no example
    (tmp_path / "t.csv").write_text("\n".join(lines))  # no new line at the end
    features, labels = plain_csv(tmp_path / "t.csv", "kind")
    np.savez(tmp_path / "t.npz", x=features, y=labels)
    pq.write_table(pa.table({"a": features[:, 0], "kind": labels.astype(np.int64), "b": features[:, 1],
                             "c": features[:, 2]}), tmp_path / "t.parquet", row_group_size=64)
    for normalize in ("none", "standard"):
        options = f"validation: 0.2, test: 0.2, normalize: {normalize}"
        expected = dataset(tmp_path, f"{{npz: {{path: t.npz, {options}}}}}")
        assert_same(dataset(tmp_path, f"{{csv: {{path: t.csv, label_column: kind, {options}}}}}"), expected)
        assert_same(dataset(tmp_path, f"{{parquet: {{path: t.parquet, label_column: kind, {options}}}}}"), expected)


# -- Parquet ------------------------------------------------------------------------------------
def write_parquet(folder: Path, **columns: list) -> None:
    table = {"a": [1.0, 2.0, 3.0, 4.0], "b": [1, 2, 3, 4], "c": [0.5, 0.1, 0.2, 0.3], "label": [0, 1, 0, 1]}
    pq.write_table(pa.table({**table, **columns}), folder / "t.parquet", row_group_size=2)


def parquet_fault(tmp_path: Path, capsys: pytest.CaptureFixture[str], **columns: list) -> str:
    write_parquet(tmp_path, **columns)
    spec = write_spec(tmp_path, "{parquet: {path: t.parquet, validation: 0, test: 0}}")
    code, headline = train(capsys, spec)
    assert code == 2, headline
    return headline.removeprefix(f"{spec}:12:26: error")


def test_parquet_in_the_dsl_takes_its_path_first(tmp_path: Path) -> None:
    write_parquet(tmp_path)
    spec = tmp_path / "spec.dsl"
    spec.write_text("dslc 1\n\nmodel m(x: [3]) {\n  dense(2)\n}\n\ntrain {\n  loss = softmax_cross_entropy\n"
                    "  optimizer = adam(0.01)\n  batch = 2\n  epochs = 1\n"
                    "  data = parquet(\"t.parquet\", validation=0, test=0)\n}\n")
    loaded = load(spec)
    data = load_dataset(loaded, analyse(loaded), 0)
    assert data.train.inputs[0].shape == (4, 3) and data.train.target.tolist() == [0, 1, 0, 1]


def test_parquet_faults_name_the_row_and_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert parquet_fault(tmp_path, capsys, b=[1, 2, None, 4]) == \
        "[E705]: t.parquet:3:2 (column 'b'): the value is missing (null)"
    assert parquet_fault(tmp_path, capsys, c=[0.5, 0.1, 0.2, float("inf")]) == \
        "[E705]: t.parquet:4:3 (column 'c'): inf is not a finite number"
    assert parquet_fault(tmp_path, capsys, b=[1, 2, None, 4], c=[0.5, 0.1, float("nan"), 0.3]) == \
        "[E705]: t.parquet:3:2 (column 'b'): the value is missing (null)"  # the first in reading order
    assert parquet_fault(tmp_path, capsys, b=[1, 2, 3, None], c=[0.5, 0.1, float("nan"), 0.3]) == \
        "[E705]: t.parquet:3:3 (column 'c'): nan is not a finite number"
    assert parquet_fault(tmp_path, capsys, c=["x", "y", "z", "w"]) == \
        "[E705]: t.parquet: column 3 ('c') holds string values, not numbers"
    assert parquet_fault(tmp_path, capsys, label=[0, 1, 2, 1]).startswith(
        "[E706]: t.parquet:3:4 (column 'label'): class id 2 is outside range(2)")


def test_parquet_file_faults(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pq.write_table(pa.table({"a": [1.0], "kind": [0]}), tmp_path / "t.parquet")
    spec = write_spec(tmp_path, "{parquet: {path: t.parquet}}")
    assert train(capsys, spec)[1].endswith("error[E703]: data file 't.parquet' has no column 'label' (2 columns: "
                                           "'a', 'kind')")
    empty = pa.array([], pa.float64())
    pq.write_table(pa.table({"a": empty, "b": empty, "c": empty, "label": pa.array([], pa.int64())}),
                   tmp_path / "t.parquet")
    assert train(capsys, spec)[1].endswith("error[E704]: data file 't.parquet' has no rows")
    (tmp_path / "t.parquet").write_bytes(b"PAR1 not really")
    assert "error[E701]: data file 't.parquet' cannot be read as Parquet: " in train(capsys, spec)[1]


def test_a_missing_parquet_file_is_located(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(tmp_path, "{parquet: {path: nope.parquet}}")
    assert "error[E701]: data file 'nope.parquet' does not exist" in train(capsys, spec)[1]


def test_check_refuses_a_parquet_path_outside_the_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(tmp_path, "{parquet: {path: ../t.parquet}}")
    assert main(["check", str(spec)]) == 2
    assert f"{spec}:12:26: error[E702]: data source 'parquet': " in capsys.readouterr().out


# -- the example ----------------------------------------------------------------------------------
EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"


def test_the_breast_cancer_example_matches_logistic_regression(tmp_path: Path,
                                                              example_data: Callable[[str], Path]) -> None:
    from sklearn.linear_model import LogisticRegression

    assert example_data("breast_cancer").read_text().startswith("mean radius,mean texture,")
    spec = tmp_path / "breast_cancer.yaml"
    spec.write_text((EXAMPLES / "breast_cancer.yaml").read_text())
    assert main(["train", str(spec), "--quiet", "--workdir", str(tmp_path / "run")]) == 0
    ours = json.loads((tmp_path / "run" / "run.json").read_text())["test"]["accuracy"]
    loaded = load(spec)
    data = load_dataset(loaded, analyse(loaded), seed=loaded.spec.train.seed)  # the run's split and statistics
    assert (len(data.train), len(data.validation), len(data.test)) == (398, 57, 114)
    baseline = LogisticRegression(max_iter=5000).fit(data.train.inputs[0], data.train.target)
    theirs = baseline.score(data.test.inputs[0], data.test.target)
    assert abs(ours - theirs) <= 0.01, (ours, theirs)


# -- the first pass: faults found before any parsing -------------------------------------------------------------
def count_parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one for each block pyarrow parses."""
    parses: list[int] = []
    parse = tabular._parse

    def counted(*args: object) -> list[np.ndarray] | None:
        parses.append(1)
        return parse(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(tabular, "_parse", counted)
    return parses


def good_rows(count: int) -> list[str]:
    return [f"{i % 7}.5,-{i % 5}e-3,{i},{i % 2}" for i in range(count)]


@pytest.mark.parametrize(("cell", "expected"), [
    ("", "E705]: t.csv:3001:3 (column 'c'): the cell is empty"),
    ("abc", "E705]: t.csv:3001:3 (column 'c'): 'abc' is not a number"),
    ("nan", "E705]: t.csv:3001:3 (column 'c'): 'nan' is not a finite number"),
    ("1.2.3", "E705]: t.csv:3001:3 (column 'c'): '1.2.3' is not a number"),
    ("1e999", "E705]: t.csv:3001:3 (column 'c'): '1e999' is not a finite number"),
    ("1" * 400, "E705]: t.csv:3001:3 (column 'c'): '111"),  # shown shortened
    ("1,9", "E704]: t.csv:3001: expected 4 cells (as the header), got 5")])
def test_a_late_fault_is_found_parsing_only_its_block(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch, cell: str,
                                                      expected: str) -> None:
    monkeypatch.setattr(tabular, "BLOCK_BYTES", 4096)
    parses = count_parses(monkeypatch)
    rows = good_rows(3000)
    rows[-1] = f"1,2,{cell},0"
    headline = csv_fault(tmp_path, capsys, HEADER + "\n" + "\n".join(rows) + "\n")
    assert headline.startswith(f"{DATA_ARGUMENT}: error[{expected}")
    assert len(parses) == 1  # only the last block: the others were checked in their plain form


def test_the_first_fault_in_reading_order_wins_over_a_later_plain_one(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabular, "BLOCK_BYTES", 4096)
    rows = good_rows(3000)
    rows[10], rows[-1] = "1,2,1.5.5,0", "1,,3,0"  # the first fault is found only by parsing its block
    headline = csv_fault(tmp_path, capsys, HEADER + "\n" + "\n".join(rows) + "\n")
    assert headline == f"{DATA_ARGUMENT}: error[E705]: t.csv:12:3 (column 'c'): '1.5.5' is not a number"


def test_a_file_not_in_plain_form_is_checked_by_its_parse(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabular, "BLOCK_BYTES", 4096)
    parses = count_parses(monkeypatch)
    rows = good_rows(3000)
    rows[0], rows[-1] = '"1",2,3,0', "1,2,3,x"  # quoted cells are not plain: the checks end there
    headline = csv_fault(tmp_path, capsys, HEADER + "\n" + "\n".join(rows) + "\n")
    assert headline == f"{DATA_ARGUMENT}: error[E705]: t.csv:3001:4 (column 'label'): 'x' is not a number"
    handle = io.BytesIO((tmp_path / "t.csv").read_bytes())
    handle.readline()
    blocks = sum(1 for _ in tabular._line_blocks(handle, 2, "t.csv", Span("s", 1, 1)))
    assert blocks > 5 and len(parses) == blocks + 1  # the first block parsed twice, each other once


def test_wide_files_are_checked_by_their_parse(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabular, "MAX_CHECKED_COLUMNS", 3)
    assert tabular._plain_check(4, [3, 0, 1, 2]) is None
    assert csv_fault(tmp_path, capsys, f"{HEADER}\n{GOOD}1,2,,0\n") == \
        f"{DATA_ARGUMENT}: error[E705]: t.csv:4:3 (column 'c'): the cell is empty"


CELLS = "0123456789" * 3 + ".+-eE,\n\r x\""


@pytest.mark.parametrize("columns", [1, 2, 3])
def test_the_plain_form_parses_into_finite_numbers(columns: int) -> None:
    """Whatever the first pass takes as plain, pyarrow parses into finite float64 values (random text)."""
    rng = np.random.default_rng(columns)
    check = tabular._plain_check(columns, list(range(columns)))
    assert check is not None
    keys = [str(i) for i in range(columns)]
    options = {"read_options": pacsv.ReadOptions(column_names=keys),
               "convert_options": pacsv.ConvertOptions(column_types=dict.fromkeys(keys, pa.float64()),
                                                       null_values=[""])}
    plain = 0
    for _ in range(3000):
        cells = ["".join(rng.choice(list(CELLS), rng.integers(0, 6))) for _ in range(columns * rng.integers(1, 4))]
        text = "\n".join(",".join(cells[i:i + columns]) for i in range(0, len(cells), columns))
        data = (text + "\n" * int(rng.integers(0, 2))).encode()
        if data and check(memoryview(data)):
            plain += 1
            table = pacsv.read_csv(io.BytesIO(data), **options)
            assert all(not column.null_count and np.isfinite(column.to_numpy()).all() for column in table.columns)
    assert plain > 50  # the random text was plain often enough to test something


def test_long_digit_runs_are_not_plain() -> None:
    """Runs of 190 digits or more (a number that may not be finite) are found wherever they start; short ones
    are not."""
    for start in range(0, 130, 7):
        for length, found in ((63, False), (190, True)):
            data = np.frombuffer(b"1," * 200 + b"," * start + b"9" * length + b",1" * 100, np.uint8)
            assert tabular._long_digit_run(data) is found, (start, length)
