"""`dslc schema`: the JSON Schema of the YAML spec format, for editor completion."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dslc.spec.schema import spec_schema


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("schema", help="print the JSON Schema of the YAML format")
    parser.add_argument("-o", "--output", type=Path, help="write to this file instead of standard output")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    text = json.dumps(spec_schema(), indent=2) + "\n"
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0
