"""`dslc check` reads a CSV file's header (and nothing more): the label column and the feature count; an image
folder's listing and its files' headers."""

from __future__ import annotations

import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from dslc.compiler import image_folders
from dslc.compiler.data_files import MAX_LINE_BYTES
from dslc.compiler.image_headers import PNG_SIGNATURE
from dslc.runtime.cli import main

SPEC = """dslc 1

model tabular(x: [4]) {
  dense(8, activation=relu)
  dense(3)
}

train {
  loss = softmax_cross_entropy
  optimizer = adam(0.001)
  batch = 8
  epochs = 1
  data = csv("table.csv", label_column=LABEL)
}
"""


def check(tmp_path: Path, capsys: pytest.CaptureFixture[str], header: bytes, label: str = "label"
          ) -> tuple[int, str]:
    spec = tmp_path / "spec.dsl"
    spec.write_text(SPEC.replace("LABEL", f'"{label}"'))
    (tmp_path / "table.csv").write_bytes(header + b"1,2,3,4,0\n")
    code = main(["check", str(spec)])
    return code, capsys.readouterr().out


def test_a_header_that_fits_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(tmp_path, capsys, b"a,b,c,d,label\n")
    assert code == 0, out


def test_a_missing_label_column_is_located_with_a_near_name(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(tmp_path, capsys, b"a,b,c,d,label\n", label="lable")
    assert code == 2
    lines = out.splitlines()
    assert lines[0] == (f"{tmp_path / 'spec.dsl'}:13:40: error[E703]: data file 'table.csv' has no column 'lable' "
                        "(5 columns: 'a', 'b', 'c', 'd', 'label')")
    assert "  hint: did you mean 'label'?" in lines


def test_too_many_columns_to_list_are_counted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    header = ",".join(f"x{i}" for i in range(5_000)).encode() + b"\n"
    code, out = check(tmp_path, capsys, header)
    assert code == 2
    assert "'x11' and 4,988 more)" in out and len(out) < 2_000  # bounded output


def test_the_feature_count_must_fit_the_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(tmp_path, capsys, b"a,b,c,label\n")
    assert code == 2
    assert ("error[E704]: data file 'table.csv' has 3 feature column(s) besides 'label', but input 'x' takes 4 "
            "values per example (shape (4))") in out


def test_a_file_on_one_long_line_stops_at_the_header_bound(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(tmp_path, capsys, b"1," * (MAX_LINE_BYTES // 2 + 1))
    assert code == 2
    assert "table.csv:1: the line is longer than 16 MiB, the longest CSV line read" in out


def test_a_missing_file_is_left_to_the_lint_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "spec.dsl"
    spec.write_text(SPEC.replace("LABEL", '"label"'))
    assert main(["check", str(spec)]) == 0
    assert "warning[W109]" in capsys.readouterr().out


def test_chosen_columns_must_exist_and_set_the_feature_count(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "spec.dsl"
    (tmp_path / "table.csv").write_bytes(b"id,a,b,c,d,label\n")
    spec.write_text(SPEC.replace('label_column=LABEL', 'columns=["a", "b", "c", "e"]'))
    assert main(["check", str(spec)]) == 2
    out = capsys.readouterr().out
    assert "error[E703]: data file 'table.csv' has no column 'e'" in out
    spec.write_text(SPEC.replace('label_column=LABEL', 'columns=["a", "b", "c", "d"]'))
    assert main(["check", str(spec)]) == 0, capsys.readouterr().out


def test_a_parquet_schema_is_read_when_pyarrow_is_installed(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    pyarrow = pytest.importorskip("pyarrow")
    from pyarrow import parquet

    parquet.write_table(pyarrow.table({"a": [1.0], "b": [2.0], "target": [0]}), tmp_path / "table.parquet")
    spec = tmp_path / "spec.dsl"
    spec.write_text(SPEC.replace('csv("table.csv", label_column=LABEL)', 'parquet("table.parquet")'))
    assert main(["check", str(spec)]) == 2
    out = capsys.readouterr().out
    assert "error[E703]: data file 'table.parquet' has no column 'label' (3 columns: 'a', 'b', 'target')" in out


IMAGES = SPEC.replace("model tabular(x: [4]) {", "model images(image: [8, 8, 1]) {\n  flatten").replace(
    'csv("table.csv", label_column=LABEL)', 'images("photos")')
# An 8x8 grey PNG's signature and header, and no pixels: check reads the header, only training decodes
_IHDR = b"IHDR" + (8).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])  # width, height, 8-bit grey
PNG_HEADER = PNG_SIGNATURE + (13).to_bytes(4, "big") + _IHDR + zlib.crc32(_IHDR).to_bytes(4, "big")


def image_folder(tmp_path: Path, classes: dict[str, int]) -> Path:
    """`photos/<class>/<n>.png` in `tmp_path`, `classes[class]` files each, and the spec IMAGES beside them."""
    (tmp_path / "photos").mkdir()
    for name, count in classes.items():
        (tmp_path / "photos" / name).mkdir()
        for number in range(count):
            (tmp_path / "photos" / name / f"{number}.png").write_bytes(PNG_HEADER)
    spec = tmp_path / "spec.dsl"
    spec.write_text(IMAGES)
    return spec


@pytest.mark.parametrize(("classes", "message"), [
    ({}, "error[E708]: image folder 'photos' has no class sub-folder"),
    ({"cat": 1, "dog": 0}, "error[E708]: image folder 'photos': class 'dog' has no image (.png, .jpg or .jpeg)"),
    ({"cat": 1, "dog": 1, "eel": 1}, None),
    ({"cat": 1, "dog": 1, "eel": 1, "fox": 1}, "error[E706]: image folder 'photos' has 4 classes, but the model's "
                                              "output (3,) scores 3"),
])
def test_check_lists_an_image_folder_without_decoding_it(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         classes: dict[str, int], message: str | None) -> None:
    code = main(["check", str(image_folder(tmp_path, classes))])
    out = capsys.readouterr().out
    assert (code, message is None or message in out) == (0 if message is None else 2, True), out


def test_check_reads_each_image_header_as_training_does(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = image_folder(tmp_path, {"cat": 2, "dog": 1})
    (tmp_path / "photos" / "cat" / "1.png").write_bytes(b"hello, I am no image\n")
    line = next(number for number, text in enumerate(IMAGES.splitlines(), 1) if '"photos"' in text)
    col = IMAGES.splitlines()[line - 1].index('"photos"') + 1
    message = (f"{spec}:{line}:{col}: error[E701]: image 'photos/cat/1.png' cannot be read as PNG or JPEG: it starts "
               "with b'hello, I am ', neither PNG's signature nor JPEG's")
    assert main(["check", str(spec)]) == 2
    out = capsys.readouterr().out
    assert message in out.splitlines(), out
    assert "  hint: remove or replace the file (PNG and JPEG files are read by content, whatever their suffix)" in out
    assert main(["train", str(spec), "--workdir", str(tmp_path / "run"), "--quiet"]) == 2  # training says the same
    assert message in capsys.readouterr().err.splitlines()


@pytest.mark.parametrize(("scan_bytes", "code"), [("0", 0), ("4KiB", 0), ("8191", 0), ("8KiB", 2), ("16MiB", 2)])
def test_the_scan_budget_bounds_the_headers_check_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        scan_bytes: str, code: int) -> None:
    """Each header costs HEADER_COST (4 KiB) of --data-scan-bytes, in listing order: the broken file is the second."""
    spec = image_folder(tmp_path, {"cat": 1, "dog": 2})
    (tmp_path / "photos" / "dog" / "0.png").write_bytes(PNG_HEADER[:20])
    assert image_folders.HEADER_COST == 4096
    assert main(["check", "--data-scan-bytes", scan_bytes, str(spec)]) == code
    out = capsys.readouterr().out
    assert ("image 'photos/dog/0.png' cannot be read as PNG or JPEG: it ends after 20 bytes, inside its PNG header "
            "(IHDR chunk)" in out) == bool(code), out


def test_check_of_an_image_folder_imports_no_jax_numpy_or_pillow(tmp_path: Path) -> None:
    """`dslc check` runs on the base install (docs/architecture.md#the-import-rule): headers are read by hand."""
    spec = image_folder(tmp_path, {"cat": 1, "dog": 1})
    code = (f"import sys; from dslc.runtime.cli import main; assert main(['check', {str(spec)!r}]) == 0; "
            "sys.exit(' '.join(name for name in ('jax', 'numpy', 'PIL') if name in sys.modules) or None)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("loss", "output", "labels", "message"), [
    ("softmax_cross_entropy", "dense(3)", [0, 2, 1], None),
    ("softmax_cross_entropy", "dense(3)", [0, 3, 1, 5], "error[E706]: table.csv:3:5 (column 'label'): class id 3 is "
                                                        "outside range(3) (the model's output (3,) has 3 classes); "
                                                        "labels span 0..5"),
    ("softmax_cross_entropy", "dense(3)", [0, 1.5], "error[E705]: table.csv:3:5 (column 'label'): loss "
                                                    "'softmax_cross_entropy' needs integer class ids, got values that "
                                                    "are not whole numbers, first 1.5"),
    ("sigmoid_binary_cross_entropy", "dense(1)", [0, 1, 2], "error[E706]: table.csv:4:5 (column 'label'): label 2 "
                                                            "is not 0 or 1, as loss 'sigmoid_binary_cross_entropy' "
                                                            "needs"),
])
def test_check_scans_the_labels_of_a_small_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str], loss: str,
                                               output: str, labels: list[float], message: str | None) -> None:
    spec = tmp_path / "spec.dsl"
    spec.write_text(SPEC.replace("LABEL", '"label"').replace("softmax_cross_entropy", loss).replace("dense(3)",
                                                                                                    output))
    (tmp_path / "table.csv").write_text("a,b,c,d,label\n" + "".join(f"1,2,3,4,{label}\n" for label in labels))
    code = main(["check", str(spec)])
    out = capsys.readouterr().out
    assert (code, message is None or message in out) == (0 if message is None else 2, True), out
    if message is not None:  # training says the same (it reads every label)
        assert main(["train", str(spec), "--workdir", str(tmp_path / "run"), "--quiet"]) == 2
        assert message in capsys.readouterr().err
        assert main(["check", "--data-scan-bytes", "0", str(spec)]) == 0  # no scan: the labels are training's
        capsys.readouterr()
