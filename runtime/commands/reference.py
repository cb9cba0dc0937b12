"""`dslc reference`: the generated language reference (layer kinds, vocabularies, error codes)."""

from __future__ import annotations

import argparse
from pathlib import Path

from dslc.spec.reference import reference_markdown, replace_in


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("reference", help="print the language reference (Markdown)")
    parser.add_argument("--write", type=Path, metavar="FILE",
                        help="replace the reference between the markers in FILE (e.g. README.md)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.write is None:
        print(reference_markdown())
        return 0
    args.write.write_text(replace_in(args.write.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"updated {args.write}")
    return 0
