"""`dslc diff OLD NEW` / `dslc diff --git REV FILE`: what changed between two versions of a spec (docs/diff.md).

The model, its blocks and the train section are compared, then what the changes do
(shapes, parameters, FLOPs, activation memory, depth verdicts). No JAX. With
`--git`, the old version is read with `git show REV:PATH` (never checked out); it is
loaded from text under the name `REV:PATH`, so its errors point there.

Both versions are loaded and analysed without the training checks (`training=False`):
the train section must parse and type-check, and it is compared key by key, but a data
file that does not exist here, or a metric the model cannot report, does not stop a
review of what changed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from dslc.runtime.options import add_limit_options, limits_from, report
from dslc.spec.errors import DslcError, DslcErrors, Span, printable
from dslc.spec.limits import Limits
from dslc.spec.load import syntax_of
from dslc.spec.source import decode_source

if TYPE_CHECKING:
    from dslc.compiler.analysis.model import Analysis
    from dslc.compiler.check import Checked
    from dslc.compiler.diff import SpecDiff

GIT_TIMEOUT_S = 30


class GitError(Exception):
    """A one-line reason why the old version could not be read from git."""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("diff", help="compare two versions of a spec (model, blocks, train section, and what "
                                         "the changes do to shapes, params, FLOPs and depth)",
                            description="Compare two specs, or a spec with its version at a git revision "
                                        "(--git REV FILE). Exit 0: compared; 2: a spec is invalid or git failed.")
    parser.add_argument("files", nargs="+", metavar="SPEC", help="OLD NEW, or FILE with --git")
    parser.add_argument("--git", metavar="REV", help="compare FILE with its version at git revision REV")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text", help="output format")
    parser.add_argument("--explain", action="store_true",
                        help="after the diff, every depth rule of each version with its value, threshold, margin "
                             "and evidence (json: each version's depth report)")
    add_limit_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    expected = 1 if args.git else 2
    if len(args.files) != expected:
        usage = "dslc diff --git REV FILE" if args.git else "dslc diff OLD NEW"
        print(f"dslc diff: expected {expected} spec file(s), got {len(args.files)} (usage: {usage})", file=sys.stderr)
        return 2
    from dslc.compiler.check import check_spec

    limits = limits_from(args)
    new_file = args.files[-1]
    try:  # without the training checks: see the module's docstring
        old = _check_from_git(args.git, new_file, limits) if args.git else check_spec(args.files[0], limits,
                                                                                      training=False)
    except GitError as error:
        print(f"dslc diff: {error}", file=sys.stderr)
        return 2
    new = check_spec(new_file, limits, training=False)
    for checked in (old, new):  # both, so that one run reports the errors of both versions
        if checked.errors is not None:
            report(checked.errors, max_errors=args.max_errors)
    if old.errors is not None or new.errors is not None:
        return 2
    from dslc.compiler.diff import diff_specs

    old_loaded, old_analysis = old.valid()
    new_loaded, new_analysis = new.valid()
    diff = diff_specs(old_loaded, old_analysis, new_loaded, new_analysis)
    print(render(diff, args, (old_analysis, new_analysis)), end="")
    return 0


def render(diff: SpecDiff, args: argparse.Namespace, analyses: tuple[Analysis, Analysis]) -> str:
    """The output the options ask for: the one place the format is chosen. `--explain` adds the depth evidence of
    both versions (`analyses`: old, new)."""
    from dslc.compiler.analysis.explain import explain_lines, explain_markdown

    versions = tuple(zip(("old", "new"), analyses, strict=True))
    if args.format == "json":
        from dslc.compiler.diff.jsonout import to_json
        document = to_json(diff)
        if args.explain:
            document["explain"] = {side: analysis.depth.to_json() for side, analysis in versions}
        return json.dumps(document, indent=2) + "\n"
    if args.format == "markdown":
        from dslc.compiler.diff.markdown import to_markdown
        shown = to_markdown(diff)
        for side, analysis in versions if args.explain else ():
            shown += (f"\n<details><summary>Depth of the {side} version, rule by rule ({analysis.file})</summary>\n\n"
                      f"{explain_markdown(analysis.depth)}\n</details>\n")
        return shown
    from dslc.compiler.diff.text import to_text
    shown = to_text(diff)
    for side, analysis in versions if args.explain else ():
        shown += f"depth of the {side} version ({analysis.file}):\n"
        shown += "".join(f"  {line}\n" for line in explain_lines(analysis.depth))
    return shown


def _git(args: list[str], cwd: Path) -> bytes:
    try:
        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=GIT_TIMEOUT_S,
                                stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH)") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"'git {args[0]}' took longer than {GIT_TIMEOUT_S} s") from None
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", errors="replace").strip().splitlines()
        reason = printable(lines[-1] if lines else f"exit status {result.returncode}", limit=200)
        raise GitError(f"'git {args[0]}' failed: {reason}")
    return result.stdout


def _check_from_git(rev: str, file: str, limits: Limits) -> Checked:
    from dslc.compiler.check import Checked, check_source

    if not rev or rev.startswith("-"):  # `git show -x:PATH` would be read as an option
        raise GitError(f"invalid revision {printable(rev)!r}")
    path = Path(file)
    try:
        syntax = syntax_of(path)
    except DslcErrors as errors:
        return Checked(None, None, errors)
    if not path.parent.is_dir():
        raise GitError(f"no such folder: {printable(str(path.parent))}")
    prefix = _git(["rev-parse", "--show-prefix"], path.parent).decode("utf-8", errors="replace").strip()
    name = f"{rev}:{prefix}{path.name}"
    # The size first, so that a huge blob is never read into memory.
    size = int(_git(["cat-file", "-s", name], path.parent).strip() or 0)
    if size > limits.max_bytes:
        message = limits.exceeded("the file's size in bytes", size, limits.max_bytes, "--max-bytes")
        return Checked(None, None, DslcErrors([DslcError("E002", message, Span(name, 1, 1))]))
    # --no-textconv: the blob's bytes as committed, never a repository-configured filter's output.
    data = _git(["show", "--no-textconv", name], path.parent)
    try:
        source = decode_source(data, name)
    except DslcError as error:
        return Checked(None, None, DslcErrors([error]))
    except DslcErrors as errors:
        return Checked(None, None, errors)
    return check_source(source, syntax, limits, training=False)
