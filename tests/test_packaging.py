"""The package layout, the README and CI stay consistent with each other."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import get_args

from dslc.runtime.cli import TRAIN_EXTRA
from dslc.spec.layers import REGISTRY
from dslc.spec.layers._init import Initializer
from dslc.spec.reference import reference_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_folder_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    mapping = config["package-dir"]
    assert set(mapping) == listed
    found = set()
    for package, folder in mapping.items():
        assert (ROOT / folder / "__init__.py").is_file(), f"{package} -> {folder} has no __init__.py"
    for top in ("spec", "compiler", "runtime", "dslc"):
        for init in (ROOT / top).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT).as_posix()
            found.add(relative)
    assert found == set(mapping.values())


def test_readme_reference_is_generated_from_the_registry() -> None:
    readme = (ROOT / "README.md").read_text()
    assert reference_markdown() in readme, "run: dslc reference --write README.md"


def test_reference_shows_every_option_and_the_named_values() -> None:
    reference = reference_markdown()
    rows = {line.split(" | ")[0].removeprefix("| `").removesuffix("`"): line for line in reference.splitlines()
            if line.startswith("| `")}
    for name, kind in REGISTRY.items():
        assert all(f"`{option}" in rows[name] or f"`*{option}" in rows[name] for option in kind.params.model_fields)
    assert "| `groups` | an integer >= 1, `depthwise` | `conv1d`, `conv2d`, `conv3d` |" in reference
    assert "`groups: depthwise` gives each input channel its own" in rows["conv2d"]
    assert all(f"| `{name}` | " in reference for name in get_args(Initializer))


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"^(python -m pytest[^\n`]*)$", readme, re.MULTILINE)
    assert command is not None
    ci_lines = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()]
    assert command.group(1).strip() in ci_lines


# Runs the review commands with every module of the `train` extra unimportable, as on the base install (and in a
# fresh pre-commit environment), then `train`, which must name the extra instead of failing with a traceback.
_BASE_INSTALL_PROBE = """
import importlib.abc, json, sys
from dslc.runtime.cli import _TRAIN_MODULES, main

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in _TRAIN_MODULES:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
for module in [m for m in sys.modules if m.partition(".")[0] in _TRAIN_MODULES]:
    del sys.modules[module]
yaml, dsl, out = sys.argv[1:4]
review = [["check", yaml, dsl], ["summary", yaml], ["diff", yaml, dsl], ["graph", yaml], ["fmt", "--check", yaml],
          ["convert", yaml, out], ["schema"], ["reference"]]
codes = {args[0]: main(args) for args in review}
codes["train"] = main(["train", yaml, "--workdir", out + ".run"])
print(json.dumps(codes))
"""


def test_review_commands_run_on_the_base_install_and_train_names_its_extra(tmp_path: Path) -> None:
    examples = ROOT / "examples"
    result = subprocess.run([sys.executable, "-c", _BASE_INSTALL_PROBE, str(examples / "digits_mlp.yaml"),
                             str(examples / "digits_mlp.dsl"), str(tmp_path / "converted.dsl")],
                            capture_output=True, text=True, timeout=120)
    codes = json.loads(result.stdout.splitlines()[-1])
    assert codes == {"check": 0, "summary": 0, "diff": 0, "graph": 0, "fmt": 0, "convert": 0, "schema": 0,
                     "reference": 0, "train": 2}, result.stderr
    assert "dslc train: needs the training extra (" in result.stderr
    assert "pip install 'dslc[train]'" in result.stderr
    assert not (tmp_path / "converted.dsl.run").exists()


def test_the_train_extra_is_what_the_command_line_names() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    names = {re.match(r"[A-Za-z0-9_.-]+", requirement)[0] for requirement in extras["train"]}  # type: ignore[index]
    assert names == set(TRAIN_EXTRA)
    assert "dslc[train]" in extras["dev"]  # the README's install line trains and tests
