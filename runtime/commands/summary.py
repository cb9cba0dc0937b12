"""`dslc summary SPEC`: a table of layers, output shapes, parameters and FLOPs, with totals and the depth verdict."""

from __future__ import annotations

import argparse
import json

from dslc.runtime.options import add_limit_options, add_policy_option, limits_from


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("summary", help="layers, shapes, parameters, FLOPs and the depth verdict (no JAX)")
    parser.add_argument("file", metavar="SPEC")
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    parser.add_argument("--batch", type=int, default=1, help="batch size for the activation memory estimate")
    parser.add_argument("--explain", action="store_true",
                        help="after the verdict, every depth rule with its value, threshold, margin and evidence "
                             "(text and markdown; json carries them already)")
    add_policy_option(parser)
    add_limit_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dslc.compiler.analysis.explain import explain_lines, explain_markdown
    from dslc.compiler.analysis.render import analysis_json, summary_markdown, summary_text
    from dslc.compiler.check import check_spec

    _, analysis = check_spec(args.file, limits_from(args), args.policy, training=False).valid()
    if args.format == "json":
        print(json.dumps(analysis_json(analysis, args.batch), indent=2))
    elif args.format == "markdown":
        print(summary_markdown(analysis, args.batch), end="")
        if args.explain:
            print(f"\n{explain_markdown(analysis.depth)}", end="")
    else:
        print(summary_text(analysis, args.batch), end="")
        if args.explain:
            print("\n".join(f"  {line}" for line in explain_lines(analysis.depth)))
    return 0
