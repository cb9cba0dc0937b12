"""`dslc check --explain` and `dslc summary --explain`, the verdict's one spelling, and the names of batch
statistics and frozen parameters in JSON, driven in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dslc.runtime.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
LINEAR = str(EXAMPLES / "linear_stack.yaml")
DECIDING = "D3 learned hierarchy = 1: shallow, 2 below the threshold of 3 (deep); the measure of hierarchy, " \
           "which decides the verdict"
DEPTHWISE = """dslc: 1
model:
  name: separable
  inputs: {image: [8, 8, 4]}
  layers:
    - conv2d: {filters: 4, kernel: 3, groups: depthwise}
      name: dw
    - conv2d: {filters: 8, kernel: 1}
      name: pw
    - batchnorm
    - global_avgpool
    - dense: {units: 2}
      trainable: false
"""


def test_check_explain_prints_the_rules_under_each_valid_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--explain", LINEAR, str(EXAMPLES / "two_branch.yaml")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{LINEAR}: ok: model 'linear_stack'")
    assert lines[1] == "  depth rules: hierarchy decides with D3; thresholds: shallow d <= 2; deep 3 <= d <= 10; " \
                       "very-deep d >= 11"
    assert f"  {DECIDING}" in lines
    assert "    dense_1, dense_2, dense_3, dense_4, dense_5 collapse into one level: no non-linearity between them" \
           in lines
    second = next(i for i, line in enumerate(lines) if line.startswith(str(EXAMPLES / "two_branch.yaml")))
    assert lines[second + 1].startswith("  depth rules:")
    assert any(line.startswith("  R1 receptive field = 9 ") for line in lines[second:])  # the dilated 5: 1 + 2*4
    assert lines[-1] == "2 file(s) checked: 2 valid, 0 invalid (0 error(s))"


def test_check_without_explain_prints_the_verdict_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", LINEAR]) == 0
    assert "depth rules" not in capsys.readouterr().out


def test_check_explain_leaves_invalid_files_and_json_alone(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("dslc: 1\nmodel:\n  name: m\n  inputs: {x: [4]}\n  layers:\n    - dnse: {units: 2}\n")
    assert main(["check", "--explain", str(bad)]) == 2
    assert "depth rules" not in capsys.readouterr().out
    assert main(["check", "--explain", "--format", "json", LINEAR]) == 0
    entry = json.loads(capsys.readouterr().out)["files"][0]
    d2 = next(rule for rule in entry["depth"]["rules"] if rule["rule"] == "D2")
    assert d2["evidence"] == ["dense_1, dense_2, dense_3, dense_4, dense_5 collapse into one level: "
                              "no non-linearity between them"]


def test_check_json_names_frozen_parameters_and_batch_statistics(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "separable.yaml"
    spec.write_text(DEPTHWISE)
    assert main(["check", "--format", "json", str(spec)]) == 0
    entry = json.loads(capsys.readouterr().out)["files"][0]
    # dw 3*3*4 + 4, pw 4*8 + 8, batch norm 2*8 (and 2*8 statistics), dense 8*2 + 2 (frozen)
    assert (entry["params"], entry["trainable"], entry["frozen"], entry["batch_stats"]) == (114, 96, 18, 16)


def test_require_spells_the_verdict_as_the_report_does(capsys: pytest.CaptureFixture[str]) -> None:
    vgg = str(EXAMPLES / "vgg11.yaml")
    assert main(["check", "--require", "very-deep", "--policy", "seeds-strict", "--format", "json", vgg]) == 0
    assert json.loads(capsys.readouterr().out)["files"][0]["depth"]["verdict"] == "very-deep"
    assert main(["check", "--require", "very-deep", LINEAR]) == 1
    assert "the model is shallow under the hierarchy policy; --require very-deep: shallow (" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["check", "--require", "very deep", LINEAR])
    assert "invalid choice: 'very deep'" in capsys.readouterr().err


def test_summary_explain_text_follows_the_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "--explain", LINEAR]) == 0
    lines = capsys.readouterr().out.splitlines()
    verdict = next(i for i, line in enumerate(lines) if line.startswith("depth: shallow (hierarchy"))
    assert lines[verdict + 1].startswith("  depth rules: hierarchy decides with D3")
    assert f"  {DECIDING}" in lines[verdict:]
    assert main(["summary", LINEAR]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("depth: shallow")


def test_summary_explain_markdown_adds_the_rules_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "--explain", "--format", "markdown", LINEAR]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "| rule | value | verdict | margin | role |" in lines
    assert "| D3 learned hierarchy | 1 | shallow | 2 below the threshold of 3 (deep) | the measure of hierarchy, " \
           "which decides the verdict |" in lines
    assert any(line.startswith("- **D2 affine collapse**: ") for line in lines)


def test_summary_shows_a_depthwise_convolution_and_names_batch_statistics(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "separable.yaml"
    spec.write_text(DEPTHWISE)
    assert main(["summary", str(spec)]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.startswith(("dw", "pw"))}
    assert rows["dw"].split()[1:3] == ["conv2d", "(depthwise)"] and "depthwise" not in rows["pw"]
    assert main(["summary", "--format", "json", str(spec)]) == 0
    report = json.loads(capsys.readouterr().out)
    totals = report["totals"]
    assert (totals["frozen"], totals["batch_stats"], totals["with_batch_stats"]) == (18, 16, 130)
    assert "state" not in totals and "with_statistics" not in totals
    layers = {layer["name"]: layer for layer in report["layers"]}
    assert (layers["dw"]["depthwise"], layers["pw"]["depthwise"]) == (True, False)
    assert layers["batchnorm_1"]["batch_stats"] == 16 and "state" not in layers["batchnorm_1"]
