"""The `dslc` command line, driven the way a user drives it: in the test's process (tests/cli_helpers.py), and in a
process of its own where its CPU time or a closed pipe is what is tested."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dslc.runtime import cli
from dslc.runtime.cli import main
from tests.cli_helpers import dslc

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
BAD = """dslc: 1
model:
  name: m
  inputs: {x: [4]}
  layers:
    - dnse: {units: 10}
    - dense: {units: 0}
"""


def dslc_process(*args: str) -> subprocess.CompletedProcess[str]:
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
    assert report["summary"] == {"files": 2, "invalid": 1, "gate_failures": 0, "errors": 2}
    bad, good = report["files"]
    assert [(e["code"], e["line"], e["column"]) for e in bad["errors"]] == [("E104", 6, 7), ("E202", 7, 22)]
    assert good["ok"] and good["model"] == "digits_cnn" and good["layers"] == 7
    assert good["params"] == good["trainable"] == 28_714
    assert good["depth"]["verdict"] == "deep" and good["gates"] == []


def test_check_reports_shape_errors_at_the_layer(tmp_path: Path) -> None:
    spec = tmp_path / "shapes.yaml"
    spec.write_text("dslc: 1\nmodel:\n  name: m\n  inputs: {x: [4, 4, 3]}\n  layers:\n"
                    "    - conv2d: {filters: 8, kernel: 5}\n      name: big\n")
    result = dslc("check", str(spec))
    assert result.returncode == 2
    assert f"{spec}:6:36: error[E502]: big:" in result.stdout


@pytest.mark.parametrize(("gate", "code", "status"), [
    (["--require", "deep"], "G001", 1), (["--require", "deep", "--policy", "seeds-strict"], None, 0),
    (["--require", "shallow"], None, 0), (["--max-params", "100000"], "G002", 1),
    (["--max-params", "200000"], None, 0), (["--max-flops", "1000"], "G003", 1),
])
def test_check_gates(gate: list[str], code: str | None, status: int) -> None:
    result = dslc("check", str(EXAMPLES / "linear_stack.yaml"), *gate)
    assert result.returncode == status, result.stdout + result.stderr
    if code:
        assert f"linear_stack.yaml:6:9: error[{code}]" in result.stdout


def test_summary_shows_every_layer_with_totals_and_verdict() -> None:
    result = dslc("summary", str(EXAMPLES / "resnet_digits.yaml"), "--batch", "32")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.split()[:3] == ["stem", "conv2d", "(8,"] for line in lines)
    assert any(line.split() == ["[stage.2]", "block"] for line in lines)
    # stem 160 + 3 blocks of two 3x3 convs (2,320 each) and two batch norms (32 each) + logits 170
    assert "params: 14,346 (trainable 14,346, frozen 0); batch statistics: 192" in result.stdout
    assert "params as Keras counts them: 14,538 (trainable 14,346, non-trainable 192" in result.stdout
    assert any(line.split()[-2:] == ["FLOPs", "MACs"] for line in lines)
    assert "activation memory for a batch of 32" in result.stdout
    assert "depth: deep (hierarchy" in result.stdout


def test_summary_json_and_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "--format", "json", str(EXAMPLES / "vgg11.yaml")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["totals"]["params"] == 132_863_336
    assert report["totals"]["macs"] == 7_609_090_048  # VGG-11's published 7.6 GMACs
    assert report["layers"][0]["shape"] == [224, 224, 64]
    assert report["depth"]["policies"]["seeds-strict"]["value"] == 11
    assert main(["summary", "--format", "markdown", str(EXAMPLES / "vgg11.yaml")]) == 0
    markdown = capsys.readouterr().out
    assert "| layer | kind | output shape | params | FLOPs | MACs |" in markdown
    assert "- params as Keras counts them: 132,863,336 (trainable 132,863,336, non-trainable 0" in markdown


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


def test_fmt_and_convert_keep_every_comment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec, dsl = tmp_path / "m.yaml", tmp_path / "m.dsl"
    spec.write_text("dslc: 1\nmodel: {name: m, inputs: {x: [4]}, layers: [relu]}  # keep me\n# and me\n")
    assert main(["fmt", str(spec)]) == 0
    assert spec.read_text() == ("dslc: 1\nmodel:\n  name: m\n  inputs: {x: [4]}\n  layers:\n"
                                "    - relu  # keep me\n# and me\n")
    assert main(["convert", str(spec), str(dsl)]) == 0
    assert dsl.read_text() == "dslc 1\n\nmodel m(x: [4]) {\n  relu  # keep me\n}\n# and me\n"
    assert "reformatted" in capsys.readouterr().out


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


def test_check_sarif_output_validates_against_the_sarif_schema(tmp_path: Path) -> None:
    import jsonschema

    spec = tmp_path / "bad.yaml"
    spec.write_text(BAD)
    result = dslc("check", "--format", "sarif", "--require", "deep", str(spec), str(EXAMPLES / "linear_stack.yaml"))
    assert result.returncode == 2
    log = json.loads(result.stdout)
    schema = json.loads((Path(__file__).resolve().parent.parent / "fixtures/sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(log)
    results = log["runs"][0]["results"]
    found = {(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results}
    assert found == {("E104", 6), ("E202", 7), ("G001", 6)}


def test_check_github_annotations() -> None:
    result = dslc("check", "--format", "github", "--max-params", "10", str(EXAMPLES / "digits_mlp.dsl"))
    assert result.returncode == 1
    assert result.stdout.startswith("::error file=") and "title=G002::" in result.stdout


def test_version_is_looked_up_only_for_the_version_option(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--version` prints the installed version; other runs never look it up (importlib.metadata costs ~30 ms)."""
    assert dslc("--version").stdout == "dslc 0.1.0\n"

    def unavailable() -> str:
        raise AssertionError("the version was looked up")

    monkeypatch.setattr(cli, "_version", unavailable)
    assert dslc("check", str(EXAMPLES / "digits_mlp.yaml")).returncode == 0
    with pytest.raises(AssertionError, match="looked up"):
        dslc("--version")


def test_a_closed_pipe_is_not_an_internal_error() -> None:
    # ResNet-50's summary (about 90 KB of JSON) outgrows a pipe buffer: the writer meets the closed pipe
    process = subprocess.Popen([sys.executable, "-m", "dslc", "summary", "--format", "json",
                                str(EXAMPLES / "resnet50.yaml")], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.read(10)
    process.stdout.close()
    assert process.wait(timeout=60) in (0, 141)
    assert b"internal error" not in process.stderr.read()


# The model's budgets: hostile-input limits (exit 2), unlike check's --max-params/--max-flops gates (exit 1).

BUDGETED = {
    "params": ("dslc: 1\nmodel:\n  name: m\n  inputs: {x: [1000000]}\n  layers:\n    - dense: {units: 1000000}\n",
               "E008", "--limit-params", "2e12"),
    "activations": ("dslc: 1\nmodel:\n  name: m\n  inputs: {image: [20000, 20000, 3]}\n  layers:\n"
                    "    - conv2d: {filters: 64, kernel: 3, padding: same}\n    - global_avgpool\n",
                    "E009", "--limit-activations", "128GiB"),
    "flops": ("dslc: 1\nmodel:\n  name: m\n  inputs: {image: [512, 512, 1024]}\n  layers:\n"
              "    - conv2d: {filters: 1024, kernel: 45, padding: same}\n    - global_avgpool\n",
              "E016", "--limit-flops", "10**16"),
}
TRAIN_SECTION = ("train:\n  loss: mse\n  optimizer: {adam: {lr: 0.001}}\n  batch: 8\n  epochs: 1\n"
                 "  data: digits\n")


@pytest.mark.parametrize("budget", sorted(BUDGETED))
def test_check_rejects_a_model_over_a_budget_fast_and_the_flag_lets_it_through(tmp_path: Path, budget: str) -> None:
    import resource

    def cpu_of_children() -> float:  # CPU time: what the spec costs, whatever else the machine is doing
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    text, code, flag, raised = BUDGETED[budget]
    spec = tmp_path / "big.yaml"
    spec.write_text(text)
    started = cpu_of_children()
    result = dslc_process("check", str(spec))
    elapsed = cpu_of_children() - started
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{spec}:6:7: error[{code}]: " in result.stdout and f"(raise it with {flag})" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert elapsed < 2.0  # the interpreter's start included
    assert dslc("check", str(spec), "--max-params", "1").returncode == 2  # a budget, not a gate: still invalid
    result = dslc("check", str(spec), flag, raised)
    assert result.returncode == 0, result.stdout + result.stderr
    assert dslc("check", str(spec), "--max-params", "1", flag, raised).returncode == 1  # now the gate decides


def test_every_command_that_analyses_enforces_the_budgets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text, _, _, _ = BUDGETED["params"]
    spec = tmp_path / "big.yaml"
    spec.write_text(text + TRAIN_SECTION)
    small = tmp_path / "small.yaml"
    small.write_text(text.replace("1000000}", "10}") + TRAIN_SECTION)
    for argv in (["summary", str(spec)], ["graph", str(spec)], ["diff", str(small), str(spec)],
                 ["compile", str(spec), "-o", str(tmp_path / "out")],
                 ["train", str(spec), "--workdir", str(tmp_path / "run")]):
        assert main(argv) == 2, argv
        assert "error[E008]: the model has 1,000,001,000,000 parameters" in capsys.readouterr().err, argv
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.yaml", "small.yaml"]  # nothing written
    assert main(["summary", str(spec), "--limit-params", "10**13", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["params"] == 1_000_001_000_000


@pytest.mark.parametrize(("text", "value"), [("1000", 1000), ("1_000", 1000), ("1e12", 10**12),
                                             ("10**15", 10**15), ("16GiB", 2**34), ("0", 0)])
def test_budget_flags_take_readable_numbers(text: str, value: int) -> None:
    from dslc.runtime.options import budget

    assert budget(text) == value


@pytest.mark.parametrize("text", ["-1", "1.5", "abc", "1e", "10**", "1e1000", "GiB", ""])
def test_budget_flags_reject_other_text(text: str) -> None:
    import argparse

    from dslc.runtime.options import budget

    with pytest.raises(argparse.ArgumentTypeError):
        budget(text)


# Many findings: at most --max-errors per file are shown (a hostile file can hold 50,000), then how many more.

MANY = BAD.replace("    - dnse: {units: 10}\n", "") + "k: 1\n" * 151  # 150 duplicate keys


def test_check_shows_at_most_max_errors_per_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "many.yaml"
    spec.write_text(MANY)
    assert main(["check", str(spec)]) == 2
    lines = capsys.readouterr().out.splitlines()
    assert sum(": error[E012]: duplicate key 'k'" in line for line in lines) == 100
    assert lines[-2:] == ["  ... 50 more error(s) not shown (at most 100 per file; raise it with --max-errors)",
                          "1 file(s) checked: 0 valid, 1 invalid (150 error(s))"]
    assert main(["check", str(spec), "--max-errors", "0"]) == 2
    assert capsys.readouterr().out.count(": error[E012]: ") == 150
    assert main(["check", "--format", "json", "--max-errors", "3", str(spec)]) == 2
    report = json.loads(capsys.readouterr().out)
    [entry] = report["files"]
    assert len(entry["errors"]) == 3 and entry["errors_not_shown"] == 147 and report["summary"]["errors"] == 150
    assert main(["check", "--format", "github", "--max-errors", "2", str(spec)]) == 2
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[-1] == (f"::notice title=dslc::{spec}: 148 more error(s) not shown (at most 2 "
                                             "per file; raise it with --max-errors)")
    assert main(["check", "--format", "sarif", "--max-errors", "2", str(spec)]) == 2
    run = json.loads(capsys.readouterr().out)["runs"][0]
    assert len(run["results"]) == 2 and "148 more error(s)" in run["invocations"][0]["toolExecutionNotifications"][0][
        "message"]["text"]


def test_every_command_that_loads_a_spec_caps_its_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "many.yaml"
    spec.write_text(MANY)
    for argv in (["summary", str(spec)], ["graph", str(spec)], ["fmt", str(spec)],
                 ["convert", str(spec), str(tmp_path / "x.dsl")], ["diff", str(spec), str(spec)],
                 ["compile", str(spec), "-o", str(tmp_path / "out")], ["train", str(spec), "--workdir",
                                                                        str(tmp_path / "run")]):
        assert main([*argv, "--max-errors", "5"]) == 2, argv
        err = capsys.readouterr().err
        assert err.count(": error[E012]: ") == (10 if argv[0] == "diff" else 5), argv
        assert "  ... 145 more error(s) not shown (at most 5 per file; raise it with --max-errors)" in err, argv


def test_the_item_budget_flag(tmp_path: Path) -> None:
    spec = tmp_path / "long.yaml"
    spec.write_text(BAD.replace("    - dnse: {units: 10}\n    - dense: {units: 0}\n", "    - relu\n" * 200))
    result = dslc("check", str(spec), "--max-items", "100")  # 14 nodes before the first relu, on line 6
    assert result.returncode == 2
    assert f"{spec}:92:7: error[E017]: YAML node count 101 exceeds the budget of 100 (raise it with --max-items)" \
        in result.stdout
    assert dslc("check", str(spec), "--max-items", "214").returncode == 0


def test_the_depth_budget_flag_has_a_ceiling(tmp_path: Path) -> None:
    """Later stages recurse per level: a depth budget of 400 crashed on nesting of 300 instead of guarding it."""
    spec = tmp_path / "deep.yaml"
    spec.write_text("dslc: 1\nmodel: " + "[" * 300 + "]" * 300 + "\n")
    result = dslc("check", str(spec), "--max-depth", "400")
    assert result.returncode == 2 and "internal error" not in result.stderr
    assert "argument --max-depth: not a whole number from 1 to 128: '400'" in result.stderr
    result = dslc("check", str(spec), "--max-depth", "128")
    assert result.returncode == 2 and f"{spec}:2:135: error[E005]: nesting depth 129" in result.stdout
