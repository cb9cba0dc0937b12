"""`dslc fmt SPEC...`: rewrite spec files in canonical form (idempotent); `--check` for CI."""

from __future__ import annotations

import argparse
from pathlib import Path

from dslc.runtime.options import add_limit_options, limits_from, report
from dslc.runtime.rewrite import body_comment_lines, with_header, write_atomically
from dslc.spec.errors import DslcErrors
from dslc.spec.load import load
from dslc.spec.printer import print_spec


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("fmt", help="rewrite spec files in canonical form",
                            description="Rewrite spec files in canonical form. With --check, change nothing and "
                                        "exit 1 if any file would change.")
    parser.add_argument("files", nargs="+", metavar="SPEC")
    parser.add_argument("--check", action="store_true", help="report files that are not canonical; write nothing")
    parser.add_argument("--drop-comments", action="store_true",
                        help="allow dropping comments below the header (the printers cannot place them)")
    add_limit_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    limits = limits_from(args)
    status = 0
    for file in args.files:
        try:
            loaded = load(file, limits)
        except DslcErrors as errors:
            report(errors, max_errors=args.max_errors)
            status = 2
            continue
        original = loaded.source.text
        canonical = with_header(original, print_spec(loaded.spec, loaded.syntax))
        if canonical == original:
            continue
        if args.check:
            print(f"would reformat {file}")
            status = max(status, 1)
            continue
        dropped = body_comment_lines(original)
        if dropped and not args.drop_comments:
            lines = ", ".join(map(str, dropped[:5])) + (", …" if len(dropped) > 5 else "")
            print(f"{file}: not reformatted: it would drop the comments on line(s) {lines} "
                  "(move them into the header comment, or pass --drop-comments)")
            status = max(status, 1)
            continue
        write_atomically(Path(file), canonical)
        print(f"reformatted {file}")
    return status
