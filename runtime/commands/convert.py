"""`dslc convert SRC DST`: rewrite a spec in the other syntax (chosen by DST's extension), comments kept."""

from __future__ import annotations

import argparse
from pathlib import Path

from dslc.runtime.options import add_limit_options, limits_from
from dslc.runtime.rewrite import canonical_text, write_atomically
from dslc.spec.load import load, syntax_of


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("convert", help="convert a spec between YAML and the DSL",
                            description="Convert SRC to DST; the syntax follows DST's extension (.yaml/.yml/.dsl).")
    parser.add_argument("source", metavar="SRC")
    parser.add_argument("target", metavar="DST")
    parser.add_argument("--force", action="store_true", help="overwrite DST if it exists")
    add_limit_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    target = Path(args.target)
    syntax = syntax_of(target)
    loaded = load(args.source, limits_from(args))
    if target.exists() and not args.force:
        print(f"dslc: {target} exists; pass --force to overwrite it")
        return 1
    write_atomically(target, canonical_text(loaded, syntax))
    print(f"wrote {target}")
    return 0
