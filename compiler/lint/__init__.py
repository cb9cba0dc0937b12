"""Lint rules for `dslc check`: warnings (W…) about specs that are valid but very likely not what was meant.

`lint(loaded, analysis)` runs the selected rules of the registry (`registry.RULES`) over a valid spec and its
analysis, and drops what a `# dslc: ignore[...]` comment silences. No JAX (docs/lint.md).
"""

from __future__ import annotations

from pathlib import Path

from dslc.compiler.analysis.model import Analysis
from dslc.compiler.lint.config import LintConfig, find_config
from dslc.compiler.lint.registry import RULES
from dslc.compiler.lint.rule import LintContext
from dslc.compiler.lint.suppress import suppressions
from dslc.spec.codes import LINT_CODES
from dslc.spec.errors import DslcError
from dslc.spec.load import LoadedSpec

__all__ = ["RULES", "LintConfig", "lint", "lint_file"]


def lint(loaded: LoadedSpec, analysis: Analysis, config: LintConfig | None = None,
         folder: Path | None = None) -> list[DslcError]:
    """The warnings of a valid spec in source order. `folder`: where its data paths are looked up (none: no W109).

    A layer inside a block is written once and expanded per instance: its warning is reported once, at the text.
    """
    context = LintContext(loaded, analysis, folder)
    silenced = suppressions(loaded.source.text, loaded.syntax)
    found: dict[tuple[str, object], DslcError] = {}
    for rule in RULES:
        if not (config or LintConfig()).enabled(rule.code):
            continue
        for finding in rule.check(context):
            if not silenced.silences(finding):
                found.setdefault((finding.code, finding.span), finding)
    return sorted(found.values(), key=lambda f: (f.span.line, f.span.col, f.code) if f.span else (0, 0, f.code))


def lint_file(loaded: LoadedSpec, analysis: Analysis, file: str | Path, select: list[str] | None = None,
              ignore: list[str] | None = None) -> list[DslcError]:
    """The warnings of the valid spec read from `file`, under the configuration that applies in its folder and then
    the command line's `select`/`ignore`. Raises `DslcError` (E205) for a broken configuration file."""
    config = find_config(Path(file).parent, LINT_CODES).overridden(select, ignore or [])
    return lint(loaded, analysis, config, loaded.data_folder)
