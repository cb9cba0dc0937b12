"""`dslc graph SPEC`: the layer graph as Graphviz DOT, or SVG through Graphviz's `dot` (no JAX)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from dslc.runtime.options import add_limit_options, limits_from, report
from dslc.spec.errors import DslcErrors, printable

DOT_TIMEOUT_S = 60


class GraphvizError(Exception):
    """A one-line reason why `dot` could not render the graph."""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("graph", help="draw the layer graph (DOT, or SVG with Graphviz)",
                            description="Write the layer graph of a spec as Graphviz DOT, or as SVG (needs "
                                        "Graphviz's `dot` on PATH). Exit 0: written; 2: invalid spec or no Graphviz.")
    parser.add_argument("file", metavar="SPEC", help="a .yaml, .yml or .dsl spec file")
    parser.add_argument("--format", choices=("dot", "svg"), default="dot", help="output format")
    parser.add_argument("-o", "--output", type=Path, help="write to this file instead of standard output")
    add_limit_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dslc.compiler.analysis.dot import to_dot
    from dslc.compiler.check import check_spec

    try:
        _, analysis = check_spec(args.file, limits_from(args), training=False).valid()
    except DslcErrors as errors:
        report(errors, max_errors=args.max_errors)
        return 2
    text = to_dot(analysis)
    if args.format == "svg":
        try:
            text = render_svg(text)
        except GraphvizError as error:
            print(f"dslc graph: {error}", file=sys.stderr)
            return 2
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def render_svg(dot: str) -> str:
    executable = shutil.which("dot")
    if executable is None:
        raise GraphvizError("--format svg needs Graphviz's `dot` on PATH (install Graphviz, e.g. "
                            "`apt-get install graphviz`), or use --format dot")
    try:
        result = subprocess.run([executable, "-Tsvg"], input=dot.encode("utf-8"), capture_output=True,
                                timeout=DOT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise GraphvizError(f"Graphviz's `dot` took longer than {DOT_TIMEOUT_S} s") from None
    except OSError as exc:
        raise GraphvizError(f"cannot run Graphviz's `dot`: {printable(str(exc))}") from None
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", errors="replace").strip().splitlines()
        reason = printable(lines[0] if lines else f"exit status {result.returncode}", limit=200)
        raise GraphvizError(f"Graphviz's `dot` failed: {reason}")
    return result.stdout.decode("utf-8", errors="replace")
