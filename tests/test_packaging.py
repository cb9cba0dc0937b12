"""The package layout, the README and CI stay consistent with each other."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import get_args

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
