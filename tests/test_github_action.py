"""The GitHub Action (action.yml, action/review.sh) run as the runner runs it: from a pull request's checkout with
its base commit, `dslc` installed, and `gh` replaced by a recorder of what would be posted."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dslc.runtime.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "action" / "review.sh"
MARKER = "<!-- dslc-review -->"

# A stand-in for the GitHub CLI: logs each call, keeps the body it was given, and lists an earlier comment of
# the action's when the test left one (its id in `existing`).
FAKE_GH = """#!/usr/bin/env bash
echo "$*" >> "$GH_DIR/calls"
previous=""
for arg in "$@"; do
  case "$previous" in --body-file) cp "$arg" "$GH_DIR/body" ;; esac
  case "$arg" in body=@*) cp "${arg#body=@}" "$GH_DIR/body" ;; esac
  previous="$arg"
done
if [ "$1" = api ] && [ "$2" != --method ] && [ -f "$GH_DIR/existing" ]; then
  echo "$(cat "$GH_DIR/existing")"
fi
"""


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def pull_request(tmp_path: Path) -> tuple[Path, str]:
    """A repository with one committed spec (the base), its checkout then edited as a pull request would."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    (repo / "models").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "digits_mlp.yaml", repo / "models" / "mlp.yaml")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "base")
    return repo, _git(repo, "rev-parse", "HEAD")


def _review(repo: Path, base: str, gh_dir: Path, specs: str = "models/**/*.yaml models/**/*.dsl"
            ) -> subprocess.CompletedProcess[str]:
    bin_dir = gh_dir / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    gh = bin_dir / "gh"
    gh.write_text(FAKE_GH)
    gh.chmod(gh.stat().st_mode | stat.S_IXUSR)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "GH_DIR": str(gh_dir), "DSLC_SPECS": specs, "DSLC_BASE": base, "DSLC_PR": "7", "DSLC_COMMENT": "true",
           "DSLC_CHECK_ARGS": "", "GITHUB_REPOSITORY": "owner/models",
           "GITHUB_STEP_SUMMARY": str(gh_dir / "summary.md")}
    return subprocess.run(["bash", str(SCRIPT)], cwd=repo, env=env, capture_output=True, text=True, timeout=300)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_changed_and_a_new_spec_are_posted_as_one_comment(pull_request: tuple[Path, str], tmp_path: Path) -> None:
    repo, base = pull_request
    _edit(repo / "models" / "mlp.yaml", "lr: 0.002", "lr: 0.003")
    _edit(repo / "models" / "mlp.yaml", "rate: 0.1", "rate: 0.3")
    shutil.copy(ROOT / "examples" / "digits_cnn.dsl", repo / "models" / "cnn.dsl")
    gh_dir = tmp_path / "gh"
    result = _review(repo, base, gh_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (gh_dir / "calls").read_text().splitlines()[-1].startswith("pr comment 7 --body-file ")
    body = (gh_dir / "body").read_text()
    assert body.startswith(MARKER)
    mlp = body[body.index("models/mlp.yaml"):]
    for value in ("0.002", "0.003", "0.1", "0.3"):
        assert value in mlp, value
    assert "`models/cnn.dsl`: a new spec." in body
    assert (gh_dir / "summary.md").read_text() == body  # readable where the token may not comment


def test_the_next_push_edits_the_comment(pull_request: tuple[Path, str], tmp_path: Path) -> None:
    repo, base = pull_request
    _edit(repo / "models" / "mlp.yaml", "epochs: 30", "epochs: 40")
    gh_dir = tmp_path / "gh"
    gh_dir.mkdir()
    (gh_dir / "existing").write_text("42\n")
    result = _review(repo, base, gh_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = (gh_dir / "calls").read_text().splitlines()
    assert calls[0].startswith("api repos/owner/models/issues/7/comments")
    assert calls[-1].startswith("api --method PATCH repos/owner/models/issues/comments/42 -F body=@")
    assert "40" in (gh_dir / "body").read_text()


def test_an_invalid_spec_is_annotated_and_fails_the_job(pull_request: tuple[Path, str], tmp_path: Path) -> None:
    repo, base = pull_request
    _edit(repo / "models" / "mlp.yaml", "- flatten", "- flaten")
    gh_dir = tmp_path / "gh"
    result = _review(repo, base, gh_dir)
    assert result.returncode == 2
    assert re.search(r"^::error file=models/mlp\.yaml,line=7,", result.stdout, re.MULTILINE), result.stdout
    assert "cannot be compared" in (gh_dir / "body").read_text()


def test_no_changed_spec_means_no_comment(pull_request: tuple[Path, str], tmp_path: Path) -> None:
    repo, base = pull_request
    gh_dir = tmp_path / "gh"
    result = _review(repo, base, gh_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (gh_dir / "calls").exists()
    assert "no spec changed" in result.stdout


def test_globs_that_match_nothing_are_an_error(pull_request: tuple[Path, str], tmp_path: Path) -> None:
    repo, base = pull_request
    result = _review(repo, base, tmp_path / "gh", specs="specs/*.dsl")
    assert result.returncode == 2
    assert "::error title=dslc::no spec file matches 'specs/*.dsl'" in result.stdout


def _workflow_check_args() -> list[tuple[str, str]]:
    """(where, check-args) of every use of the action in this repository's workflow and in the documented one."""
    documented = re.search(r"```yaml\n(.*?)```", (ROOT / "docs" / "github.md").read_text(), re.DOTALL)
    assert documented is not None
    workflows = {"docs/github.md": documented.group(1),
                 ".github/workflows/specs.yml": (ROOT / ".github" / "workflows" / "specs.yml").read_text()}
    found = []
    for where, text in workflows.items():
        for job in yaml.safe_load(text)["jobs"].values():
            found += [(where, step["with"].get("check-args", "")) for step in job["steps"]
                      if step.get("uses", "").endswith(("dslc@main", "./"))]
    return found


def test_the_documented_workflows_pass_flags_that_dslc_check_accepts() -> None:
    uses = _workflow_check_args()
    assert len(uses) == 2
    parser = build_parser()
    for where, check_args in uses:
        try:
            parser.parse_args(["check", *shlex.split(check_args), "model.yaml"])
        except SystemExit:
            pytest.fail(f"{where}: dslc check does not accept {check_args!r}")


def test_the_action_runs_the_review_script_with_its_inputs() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    review = action["runs"]["steps"][-1]
    assert review["run"].endswith('/action/review.sh"')
    script = SCRIPT.read_text()
    for name in review["env"]:
        assert name in script, f"action.yml passes {name}, which review.sh never reads"
    assert set(action["inputs"]) == {"specs", "check-args", "comment", "python-version"}
