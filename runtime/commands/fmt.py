"""`dslc fmt SPEC...`: rewrite spec files in canonical form, comments kept (idempotent); `--check` for CI."""

from __future__ import annotations

import argparse
from pathlib import Path

from dslc.runtime.options import add_limit_options, limits_from, report
from dslc.runtime.rewrite import canonical_text, write_atomically
from dslc.spec.errors import DslcErrors
from dslc.spec.load import load


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("fmt", help="rewrite spec files in canonical form",
                            description="Rewrite spec files in canonical form. With --check, change nothing and "
                                        "exit 1 if any file would change.")
    parser.add_argument("files", nargs="+", metavar="SPEC")
    parser.add_argument("--check", action="store_true", help="report files that are not canonical; write nothing")
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
        canonical = canonical_text(loaded, loaded.syntax)
        if canonical == loaded.source.text:
            continue
        if args.check:
            print(f"would reformat {file}")
            status = max(status, 1)
            continue
        write_atomically(Path(file), canonical)
        print(f"reformatted {file}")
    return status
