"""`dslc convert SRC DST`: rewrite a spec in the other syntax (chosen by DST's extension)."""

from __future__ import annotations

import argparse
from pathlib import Path

from dslc.runtime.options import add_limit_options, limits_from
from dslc.runtime.rewrite import body_comment_lines, with_header, write_atomically
from dslc.spec.load import load, syntax_of
from dslc.spec.printer import print_spec


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("convert", help="convert a spec between YAML and the DSL",
                            description="Convert SRC to DST; the syntax follows DST's extension (.yaml/.yml/.dsl).")
    parser.add_argument("source", metavar="SRC")
    parser.add_argument("target", metavar="DST")
    parser.add_argument("--force", action="store_true", help="overwrite DST if it exists")
    parser.add_argument("--drop-comments", action="store_true", help="allow dropping comments below the header")
    add_limit_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    target = Path(args.target)
    syntax = syntax_of(target)
    loaded = load(args.source, limits_from(args))
    if target.exists() and not args.force:
        print(f"dslc: {target} exists; pass --force to overwrite it")
        return 1
    dropped = body_comment_lines(loaded.source.text)
    if dropped and not args.drop_comments:
        print(f"dslc: {args.source} has comments on line(s) {', '.join(map(str, dropped[:5]))} that the "
              "conversion cannot place; move them into the header comment or pass --drop-comments")
        return 1
    write_atomically(target, with_header(loaded.source.text, print_spec(loaded.spec, syntax)))
    print(f"wrote {target}")
    return 0
