"""The `dslc` command line, driven the way a user drives it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dslc.runtime.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
BAD = """dslc: 1
model:
  name: m
  inputs: {x: [4]}
  layers:
    - dnse: {units: 10}
    - dense: {units: 0}
"""


def dslc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dslc", *args], capture_output=True, text=True, timeout=60)


def test_check_accepts_every_example() -> None:
    files = sorted(str(p) for p in EXAMPLES.iterdir() if p.suffix in (".yaml", ".dsl"))
    result = dslc("check", *files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(files)} file(s) checked: {len(files)} valid" in result.stdout


def test_check_reports_every_error_with_position_and_exits_2(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(BAD)
    result = dslc("check", str(spec))
    assert result.returncode == 2
    assert f"{spec}:6:7: error[E104]: unknown layer kind 'dnse'" in result.stdout
    assert "hint: did you mean 'dense'?" in result.stdout
    assert f"{spec}:7:22: error[E202]: dense: units must be >= 1, got 0" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_check_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(BAD)
    assert main(["check", "--format", "json", str(spec), str(EXAMPLES / "digits_cnn.yaml")]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["summary"] == {"files": 2, "valid": 1, "invalid": 1, "errors": 2}
    bad, good = report["files"]
    assert [(e["code"], e["line"], e["column"]) for e in bad["errors"]] == [("E104", 6, 7), ("E202", 7, 22)]
    assert good == {"file": str(EXAMPLES / "digits_cnn.yaml"), "ok": True, "model": "digits_cnn",
                    "syntax": "yaml", "layers": 7}


def test_check_never_imports_jax() -> None:
    probe = ("import sys\nfrom dslc.runtime.cli import main\ncode = main(['check', sys.argv[1]])\n"
             "loaded = 'jax' in sys.modules\nimport jax  # installed, so not importing it was a choice\n"
             "sys.exit(3 if loaded else code)\n")
    result = subprocess.run([sys.executable, "-c", probe, str(EXAMPLES / "resnet_digits.yaml")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_missing_file_and_unknown_extension(tmp_path: Path) -> None:
    result = dslc("check", str(tmp_path / "nope.yaml"), str(tmp_path / "model.json"))
    assert result.returncode == 2
    assert "error[E001]" in result.stdout and "error[E004]" in result.stdout


def test_fmt_rewrites_to_canonical_form_idempotently(tmp_path: Path) -> None:
    spec = tmp_path / "m.yaml"
    spec.write_text("# header comment\ndslc: 1\nmodel: {name: m, inputs: {x: [4]}, layers: [{dense: {units: 2}}]}\n")
    assert dslc("fmt", "--check", str(spec)).returncode == 1
    assert dslc("fmt", str(spec)).returncode == 0
    first = spec.read_text()
    assert first.startswith("# header comment\ndslc: 1\nmodel:\n  name: m\n")
    assert dslc("fmt", "--check", str(spec)).returncode == 0
    assert dslc("fmt", str(spec)).returncode == 0 and spec.read_text() == first


def test_fmt_refuses_to_drop_comments(tmp_path: Path) -> None:
    spec = tmp_path / "m.yaml"
    original = "dslc: 1\nmodel: {name: m, inputs: {x: [4]}, layers: [relu]}  # keep me\n"
    spec.write_text(original)
    result = dslc("fmt", str(spec))
    assert result.returncode == 1 and "line(s) 2" in result.stdout
    assert spec.read_text() == original
    assert dslc("fmt", "--drop-comments", str(spec)).returncode == 0


def test_fmt_leaves_invalid_files_alone(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(BAD)
    assert dslc("fmt", str(spec)).returncode == 2
    assert spec.read_text() == BAD


@pytest.mark.parametrize("stem", sorted(p.stem for p in EXAMPLES.glob("*.yaml")))
def test_convert_both_ways_preserves_the_ir(tmp_path: Path, stem: str) -> None:
    from dslc.spec.load import load

    source = tmp_path / f"{stem}.yaml"
    shutil.copy(EXAMPLES / f"{stem}.yaml", source)
    dsl, back = tmp_path / "out.dsl", tmp_path / "back.yaml"
    assert main(["convert", str(source), str(dsl)]) == 0
    assert main(["convert", str(dsl), str(back)]) == 0
    assert load(dsl).spec == load(source).spec == load(back).spec
    assert main(["convert", str(source), str(dsl)]) == 1  # exists: refuses without --force


def test_schema_command_prints_a_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].endswith("2020-12/schema") and "model" in schema["properties"]
