"""`dslc diff` and `dslc graph` end to end, through `python -m dslc`, on the examples and edited copies."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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

def test_diff_of_a_spec_with_itself_and_with_its_dsl_twin_is_empty() -> None:
    result = dslc("diff", str(EXAMPLES / "resnet_digits.yaml"), str(EXAMPLES / "resnet_digits.dsl"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("resnet_digits: params unchanged, FLOPs unchanged, verdict ")
    assert result.stdout.splitlines()[0].endswith(" (unchanged)")
    assert " 0 added, 0 removed, 0 changed" in result.stdout


def test_diff_reports_a_widened_layer(tmp_path: Path) -> None:
    new = edited(tmp_path, "mlp.yaml", "units: 64,", "units: 96,")
    result = dslc("diff", str(EXAMPLES / "digits_mlp.yaml"), str(new))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # 128*64+64 = 8,256 -> 128*96+96 = 12,384; the next dense: 64*10+10 = 650 -> 96*10+10 = 970.
    assert lines[0].startswith("digits_mlp: params +4,448 (+25.8%), FLOPs +")
    assert lines[1] == "layers: 0 added, 0 removed, 2 changed, 4 unchanged"
    assert lines[2].split()[:8] == ["~", "dense_2", "dense", "64", "->", "96", "8,256", "->"]
    assert lines[3].split()[:3] == ["~", "dense_3", "dense"]


def test_diff_markdown_and_json(tmp_path: Path) -> None:
    new = edited(tmp_path, "mlp.yaml", "    - dropout: {rate: 0.1}\n", "")
    md = dslc("diff", "--format", "markdown", str(EXAMPLES / "digits_mlp.yaml"), str(new))
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith("**dslc diff** `digits_mlp`: params unchanged, FLOPs unchanged, verdict ")
    assert "| ➖ | `dropout_1` | `dropout` | 128 | 0 | 0 | 0 |" in md.stdout
    assert "| ✏️ | `dense_2` | `dense` | 64 | 8,256 | 0 | 0 |" in md.stdout  # its input was renamed
    data = json.loads(dslc("diff", "--format", "json", str(EXAMPLES / "digits_mlp.yaml"), str(new)).stdout)
    assert [(c["name"], c["status"]) for c in data["layers"]] == [("dense_2", "changed"), ("dropout_1", "removed")]
    assert data["layers"][0]["reasons"] == ["inputs"]
    assert data["totals"]["params"]["delta"] == 0


def test_diff_reports_errors_of_both_files_and_exits_2(tmp_path: Path) -> None:
    bad_old = edited(tmp_path, "old.yaml", "dense: {units: 10}", "dnse: {units: 10}")
    bad_new = edited(tmp_path, "new.yaml", "units: 64,", "units: 0,")
    result = dslc("diff", str(bad_old), str(bad_new))
    assert result.returncode == 2
    assert f"{bad_old}:" in result.stderr and "error[E104]" in result.stderr
    assert f"{bad_new}:" in result.stderr and "error[E202]" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr and result.stdout == ""


def test_diff_reports_shape_errors(tmp_path: Path) -> None:
    broken = edited(tmp_path, "cnn.yaml", "image: [8, 8, 1]", "image: [64]", example="digits_cnn.yaml")
    result = dslc("diff", str(EXAMPLES / "digits_cnn.yaml"), str(broken))
    assert result.returncode == 2
    assert f"{broken}:" in result.stderr and "error[" in result.stderr
    assert "Traceback" not in result.stderr


def test_diff_needs_two_files_or_git_and_one() -> None:
    result = dslc("diff", str(EXAMPLES / "digits_mlp.yaml"))
    assert result.returncode == 2 and "expected 2 spec file(s), got 1" in result.stderr
    result = dslc("diff", "--git", "HEAD", str(EXAMPLES / "digits_mlp.yaml"), str(EXAMPLES / "digits_cnn.yaml"))
    assert result.returncode == 2 and "expected 1 spec file(s), got 2" in result.stderr


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=dslc tests", "-c", "user.email=tests@dslc.invalid",
                    "-c", "commit.gpgsign=false", *args], cwd=repo, check=True, capture_output=True, timeout=60)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    (repo / "models").mkdir(parents=True)
    spec = repo / "models" / "mlp.yaml"
    spec.write_text((EXAMPLES / "digits_mlp.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    spec.write_text(spec.read_text(encoding="utf-8").replace("units: 64,", "units: 96,"), encoding="utf-8")
    git(repo, "commit", "-q", "-am", "second")
    spec.write_text(spec.read_text(encoding="utf-8").replace("units: 128,", "units: 256,"), encoding="utf-8")
    return repo  # HEAD~1 has 64 units, HEAD 96, the working tree 256 and 96


def test_diff_git_compares_with_a_revision(repo: Path) -> None:
    result = dslc("diff", "--git", "HEAD~1", "models/mlp.yaml", cwd=repo)
    assert result.returncode == 0, result.stderr
    # dense_1 (128 -> 256 units), the dropout after it, dense_2 (64 -> 96 units), dense_3 (96 inputs).
    assert result.stdout.splitlines()[1] == "layers: 0 added, 0 removed, 4 changed, 2 unchanged"
    # From a subfolder: the path is taken relative to the repository root.
    result = dslc("diff", "--git", "HEAD", "mlp.yaml", "--format", "json", cwd=repo / "models")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["old"]["file"] == "HEAD:models/mlp.yaml"
    assert [c["name"] for c in data["layers"]] == ["dense_1", "dropout_1", "dense_2"]


def test_diff_git_locates_errors_in_the_old_version(repo: Path) -> None:
    spec = repo / "models" / "mlp.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("flatten", "flaten"), encoding="utf-8")
    git(repo, "commit", "-q", "-am", "third")
    result = dslc("diff", "--git", "HEAD", "models/mlp.yaml", cwd=repo)
    assert result.returncode == 2
    assert "HEAD:models/mlp.yaml:7:7: error[E104]: unknown layer kind 'flaten'" in result.stderr


def test_diff_git_failures_are_one_clear_line(repo: Path, tmp_path: Path) -> None:
    result = dslc("diff", "--git", "no-such-rev", "models/mlp.yaml", cwd=repo)
    assert result.returncode == 2
    assert result.stderr.startswith("dslc diff: 'git cat-file' failed: ") and result.stderr.count("\n") == 1
    result = dslc("diff", "--git=--output=/tmp/x", "models/mlp.yaml", cwd=repo)
    assert result.returncode == 2 and "invalid revision '--output=/tmp/x'" in result.stderr
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(EXAMPLES / "digits_mlp.yaml", outside / "mlp.yaml")
    result = dslc("diff", "--git", "HEAD", "mlp.yaml", cwd=outside,
                  env={**os.environ, "GIT_CEILING_DIRECTORIES": str(tmp_path)})  # not inside any repository
    assert result.returncode == 2 and "'git rev-parse' failed" in result.stderr
    assert "Traceback" not in result.stderr


def test_diff_git_enforces_the_byte_budget(repo: Path) -> None:
    result = dslc("diff", "--git", "HEAD", "models/mlp.yaml", "--max-bytes", "100", cwd=repo)
    assert result.returncode == 2
    assert "HEAD:models/mlp.yaml:1:1: error[E002]" in result.stderr


# --- graph -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_graph_dot_of_every_example(spec: Path) -> None:
    result = dslc("graph", str(spec))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("digraph ") and result.stdout.endswith("}\n")
    assert " -> " in result.stdout


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
