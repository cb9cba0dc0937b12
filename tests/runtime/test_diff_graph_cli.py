"""`dslc diff` (in process) and `dslc graph` (through `python -m dslc`) end to end, on examples and edits."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dslc.runtime.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
SPECS = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".yaml", ".dsl"))


def dslc(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dslc", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd, env=env)


def edited(tmp_path: Path, name: str, old: str, new: str, example: str = "digits_mlp.yaml") -> Path:
    text = (EXAMPLES / example).read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


# --- diff ------------------------------------------------------------------------------------------------------

def run_diff(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`dslc diff ARGS` in this process: exit status, stdout, stderr."""
    status = main(["diff", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_diff_of_a_spec_with_its_dsl_twin_says_nothing_changed(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_diff(capsys, str(EXAMPLES / "resnet_digits.yaml"), str(EXAMPLES / "resnet_digits.dsl"))
    assert status == 0
    assert out == "resnet_digits: nothing changed (the model, its blocks and the train section mean the same)\n"


def test_diff_reports_a_widened_layer_and_what_it_does(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = edited(tmp_path, "mlp.yaml", "units: 64,", "units: 96,")
    status, out, _ = run_diff(capsys, str(EXAMPLES / "digits_mlp.yaml"), str(new))
    assert status == 0
    lines = out.splitlines()
    # 128*64+64 = 8,256 -> 128*96+96 = 12,384; the next dense: 64*10+10 = 650 -> 96*10+10 = 970.
    assert lines[0].startswith("digits_mlp: layers: 1 changed; params +4,448 (+25.8%), FLOPs +")
    assert lines[1:4] == ["layers: 0 added, 0 removed, 0 moved, 1 changed, 4 unchanged",
                          f"  ~ dense_2  dense  ({new}:10:7)", f"      units: 64 -> 96  ({new}:10:22)"]
    assert f"  dense_2: output 64 -> 96, params 8,256 -> 12,384  ({new}:10:7)" in lines
    assert f"  dense_3: output 10, params 650 -> 970  ({new}:11:7)" in lines


def test_diff_markdown_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = edited(tmp_path, "mlp.yaml", "    - dropout: {rate: 0.1}\n", "")
    status, md, _ = run_diff(capsys, "--format", "markdown", str(EXAMPLES / "digits_mlp.yaml"), str(new))
    assert status == 0
    assert md.startswith("**dslc diff** digits\\_mlp: layers: 1 removed; params unchanged, FLOPs unchanged, ")
    assert "| ➖ | `dropout_1` | `dropout` | removed |  | `" in md
    status, out, _ = run_diff(capsys, "--format", "json", str(EXAMPLES / "digits_mlp.yaml"), str(new))
    data = json.loads(out)
    assert status == 0 and data["changed"] is True
    assert [(c["status"], c["name"]) for c in data["layers"]["changes"]] == [("removed", "dropout_1")]
    assert data["consequences"]["totals"]["params"]["delta"] == 0


def test_diff_explain_gives_the_depth_rules_of_both_versions(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    new = edited(tmp_path, "mlp.yaml", "    - dense: {units: 64, activation: relu}\n", "")  # 3 levels -> 2
    old = str(EXAMPLES / "digits_mlp.yaml")
    status, out, _ = run_diff(capsys, "--explain", old, str(new))
    assert status == 0
    explained = out[out.index("depth of the old version"):].splitlines()
    assert explained[0] == f"depth of the old version ({old}):"
    assert explained.index(f"depth of the new version ({new}):") > 0
    hierarchy = [line.strip() for line in explained if line.strip().startswith("D3 learned hierarchy")]
    assert [line.split(":")[0] for line in hierarchy] == ["D3 learned hierarchy = 3", "D3 learned hierarchy = 2"]
    status, md, _ = run_diff(capsys, "--explain", "--format", "markdown", old, str(new))
    assert md.count("<details><summary>Depth of the ") == 2 and "| D3 learned hierarchy | 2 | shallow |" in md
    status, out, _ = run_diff(capsys, "--explain", "--format", "json", old, str(new))
    explain = json.loads(out)["explain"]
    assert (explain["old"]["verdict"], explain["new"]["verdict"]) == ("deep", "shallow")
    status, out, _ = run_diff(capsys, old, str(new))
    assert "depth of the old version" not in out


def test_diff_compares_the_train_section_without_its_training_checks(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    # The data file exists in neither folder: training would refuse it; a review still sees the change.
    old = edited(tmp_path, "old.yaml", "data: digits", "data: {npz: {path: data/a.npz}}")
    new = edited(tmp_path, "new.yaml", "data: digits", "data: {npz: {path: data/b.npz}}")
    status, out, err = run_diff(capsys, str(old), str(new))
    assert status == 0, err
    assert f"  data.path: data/a.npz -> data/b.npz  ({new}:18:22)" in out.splitlines()


def test_diff_reports_errors_of_both_files_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad_old = edited(tmp_path, "old.yaml", "dense: {units: 10}", "dnse: {units: 10}")
    bad_new = edited(tmp_path, "new.yaml", "units: 64,", "units: 0,")
    status, out, err = run_diff(capsys, str(bad_old), str(bad_new))
    assert status == 2
    assert f"{bad_old}:" in err and "error[E104]" in err
    assert f"{bad_new}:" in err and "error[E202]" in err
    assert "Traceback" not in out + err and out == ""


def test_diff_reports_shape_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = edited(tmp_path, "cnn.yaml", "image: [8, 8, 1]", "image: [64]", example="digits_cnn.yaml")
    status, _, err = run_diff(capsys, str(EXAMPLES / "digits_cnn.yaml"), str(broken))
    assert status == 2
    assert f"{broken}:" in err and "error[" in err and "Traceback" not in err


def test_diff_needs_two_files_or_git_and_one(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_diff(capsys, str(EXAMPLES / "digits_mlp.yaml"))
    assert status == 2 and "expected 2 spec file(s), got 1" in err
    status, _, err = run_diff(capsys, "--git", "HEAD", str(EXAMPLES / "digits_mlp.yaml"),
                              str(EXAMPLES / "digits_cnn.yaml"))
    assert status == 2 and "expected 1 spec file(s), got 2" in err


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=dslc tests", "-c", "user.email=tests@dslc.invalid",
                    "-c", "commit.gpgsign=false", *args], cwd=repo, check=True, capture_output=True, timeout=60)


def new_repo(tmp_path: Path, text: str) -> Path:
    """A git repository with `models/spec.yaml` committed; returns the spec's path."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    (repo / "models").mkdir(parents=True)
    spec = repo / "models" / "spec.yaml"
    spec.write_text(text, encoding="utf-8")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    return spec


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    spec = new_repo(tmp_path, (EXAMPLES / "digits_mlp.yaml").read_text(encoding="utf-8"))
    repo = spec.parent.parent
    spec.write_text(spec.read_text(encoding="utf-8").replace("units: 64,", "units: 96,"), encoding="utf-8")
    git(repo, "commit", "-q", "-am", "second")
    spec.write_text(spec.read_text(encoding="utf-8").replace("units: 128,", "units: 256,"), encoding="utf-8")
    return repo  # HEAD~1 has 64 units, HEAD 96, the working tree 256 and 96


REVIEWED = """\
dslc: 1
blocks:
  head:
    params: [units]
    layers:
      - dense: {units: $units, activation: relu}
      - dropout: {rate: 0.2}
model:
  name: reviewed
  inputs: {image: [8, 8, 1]}
  layers:
    - flatten
    - dense: {units: 128, activation: relu}
    - dropout: {rate: 0.1}
    - dense: {units: 64, activation: relu}
    - head: {units: 32}
    - dense: {units: 10}
train:
  loss: softmax_cross_entropy
  optimizer:
    adam:
      lr: {warmup_cosine: {peak: 0.002, warmup_steps: 100, decay_steps: 1000}}
  batch: 64
  epochs: 30
  data: {npz: {path: data/train.npz, normalize: standard}}
"""

# Each edit of the review issue, and the change the diff must report for it: (key, old, new).
EDITS = [
    ("rate: 0.1", "rate: 0.3", ("rate", 0.1, 0.3)),
    ("64, activation: relu", "64, activation: gelu", ("activation", "relu", "gelu")),
    ("peak: 0.002", "peak: 0.0005", ("optimizer.lr.peak", 0.002, 0.0005)),
    ("decay_steps: 1000", "decay_steps: 4000", ("optimizer.lr.decay_steps", 1000, 4000)),
    ("epochs: 30", "epochs: 50", ("epochs", 30, 50)),
    ("normalize: standard", "normalize: minmax", ("data.normalize", "standard", "minmax")),
    ("path: data/train.npz", "path: data/train_v2.npz", ("data.path", "data/train.npz", "data/train_v2.npz")),
    ("rate: 0.2", "rate: 0.5", ("rate", 0.2, 0.5)),  # in the block body
]


def test_diff_git_reports_every_edit_of_a_commit_with_old_and_new(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    spec = new_repo(tmp_path, REVIEWED)
    text = REVIEWED
    for old, new, _ in EDITS:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    spec.write_text(text, encoding="utf-8")
    monkeypatch.chdir(spec.parent.parent)
    status, out, err = run_diff(capsys, "--git", "HEAD", "models/spec.yaml", "--format", "json")
    assert status == 0, err
    data = json.loads(out)
    layer_changes = [(c["key"], c["old"], c["new"]) for step in data["layers"]["changes"] for c in step["changes"]]
    train_changes = [(c["key"], c["old"], c["new"]) for c in data["train"]]
    (block,) = data["blocks"]
    body_changes = [(c["key"], c["old"], c["new"]) for step in block["body"]["changes"] for c in step["changes"]]
    assert layer_changes == [change for _, _, change in EDITS[:2]]
    assert train_changes == [change for _, _, change in EDITS[2:7]]
    assert (block["name"], body_changes) == ("head", [EDITS[7][2]])
    assert block["call_sites"] == ["head_1 (models/spec.yaml:16:7)"]
    assert [step["name"] for step in data["layers"]["changes"]] == ["dropout_1", "dense_2"]
    # The text says the same, each change with its place in the new version.
    status, out, _ = run_diff(capsys, "--git", "HEAD", "models/spec.yaml")
    assert "      rate: 0.1 -> 0.3  (models/spec.yaml:14:23)" in out.splitlines()
    assert "  optimizer.lr.peak: 0.002 -> 0.0005  (models/spec.yaml:22:34)" in out.splitlines()


def test_diff_git_inserting_a_layer_is_exactly_one_insertion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    spec = new_repo(tmp_path, REVIEWED)
    spec.write_text(REVIEWED.replace("    - dropout: {rate: 0.1}\n",
                                     "    - dropout: {rate: 0.1}\n    - dense: {units: 128, activation: tanh}\n"),
                    encoding="utf-8")
    monkeypatch.chdir(spec.parent.parent)
    status, out, err = run_diff(capsys, "--git", "HEAD", "models/spec.yaml", "--format", "json")
    assert status == 0, err
    data = json.loads(out)
    assert [(c["status"], c["name"], c["kind"]) for c in data["layers"]["changes"]] == [("added", "dense_2", "dense")]
    assert data["layers"]["unchanged"] == 6 and data["blocks"] == [] and data["train"] == []
    assert data["consequences"]["layers"] == []  # no other layer's shape or parameter count changed


def test_diff_git_compares_with_a_revision(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(repo)
    status, out, err = run_diff(capsys, "--git", "HEAD~1", "models/spec.yaml")
    assert status == 0, err
    assert out.splitlines()[1] == "layers: 0 added, 0 removed, 0 moved, 2 changed, 3 unchanged"  # dense_1, dense_2
    # From a subfolder: the path is taken relative to the repository root.
    monkeypatch.chdir(repo / "models")
    status, out, err = run_diff(capsys, "--git", "HEAD", "spec.yaml", "--format", "json")
    assert status == 0, err
    data = json.loads(out)
    assert data["old"]["file"] == "HEAD:models/spec.yaml"
    assert [c["name"] for c in data["layers"]["changes"]] == ["dense_1"]


def test_diff_git_locates_errors_in_the_old_version(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    spec = repo / "models" / "spec.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("flatten", "flaten"), encoding="utf-8")
    git(repo, "commit", "-q", "-am", "third")
    monkeypatch.chdir(repo)
    status, _, err = run_diff(capsys, "--git", "HEAD", "models/spec.yaml")
    assert status == 2
    assert "HEAD:models/spec.yaml:7:7: error[E104]: unknown layer kind 'flaten'" in err


def test_diff_git_failures_are_one_clear_line(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(repo)
    status, _, err = run_diff(capsys, "--git", "no-such-rev", "models/spec.yaml")
    assert status == 2
    assert err.startswith("dslc diff: 'git cat-file' failed: ") and err.count("\n") == 1
    status, _, err = run_diff(capsys, "--git=--output=/tmp/x", "models/spec.yaml")
    assert status == 2 and "invalid revision '--output=/tmp/x'" in err
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(EXAMPLES / "digits_mlp.yaml", outside / "mlp.yaml")
    monkeypatch.chdir(outside)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # not inside any repository
    status, _, err = run_diff(capsys, "--git", "HEAD", "mlp.yaml")
    assert status == 2 and "'git rev-parse' failed" in err and "Traceback" not in err


def test_diff_git_enforces_the_byte_budget(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(repo)
    status, _, err = run_diff(capsys, "--git", "HEAD", "models/spec.yaml", "--max-bytes", "100")
    assert status == 2
    assert "HEAD:models/spec.yaml:1:1: error[E002]" in err


# --- graph -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_graph_dot_of_every_example(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # in this process: the tests below run `dslc graph` as a command
    assert main(["graph", str(spec)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("digraph ") and out.endswith("}\n")
    assert " -> " in out


def test_graph_of_both_syntaxes_is_the_same() -> None:
    yaml_dot = dslc("graph", str(EXAMPLES / "resnet_digits.yaml")).stdout
    assert yaml_dot == dslc("graph", str(EXAMPLES / "resnet_digits.dsl")).stdout
    assert "subgraph cluster_3 {" in yaml_dot and 'label="stage.3";' in yaml_dot


def test_graph_writes_a_file(tmp_path: Path) -> None:
    out = tmp_path / "g.dot"
    result = dslc("graph", str(EXAMPLES / "two_branch.yaml"), "-o", str(out))
    assert result.returncode == 0 and result.stdout == ""
    text = out.read_text(encoding="utf-8")
    assert '"image" -> "local" [label="8x8x1"];' in text and '"image" -> "wide" [label="8x8x1"];' in text


def test_graph_svg_without_graphviz_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    result = dslc("graph", "--format", "svg", str(EXAMPLES / "digits_cnn.yaml"),
                  env={**os.environ, "PATH": str(empty)})
    assert result.returncode == 2
    assert "Graphviz" in result.stderr and result.stderr.count("\n") == 1 and result.stdout == ""


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_graph_svg_with_graphviz(tmp_path: Path) -> None:
    out = tmp_path / "g.svg"
    result = dslc("graph", "--format", "svg", str(EXAMPLES / "resnet_digits.yaml"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "<svg" in out.read_text(encoding="utf-8")


def test_graph_of_an_invalid_spec_exits_2(tmp_path: Path) -> None:
    bad = edited(tmp_path, "bad.yaml", "dense: {units: 10}", "dnse: {units: 10}")
    result = dslc("graph", str(bad))
    assert result.returncode == 2 and "error[E104]" in result.stderr and result.stdout == ""


def test_diff_and_graph_never_import_jax(tmp_path: Path) -> None:
    code = ("import sys; from dslc.runtime.cli import main; "
            f"main(['diff', {str(EXAMPLES / 'digits_cnn.yaml')!r}, {str(EXAMPLES / 'digits_mlp.yaml')!r}]); "
            f"main(['graph', {str(EXAMPLES / 'digits_cnn.yaml')!r}, '-o', {str(tmp_path / 'g.dot')!r}]); "
            "assert 'jax' not in sys.modules, 'jax imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
