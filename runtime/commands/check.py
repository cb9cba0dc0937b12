"""`dslc check SPEC...`: load and validate spec files; never imports JAX."""

from __future__ import annotations

import argparse
import json
import sys

from dslc.runtime.options import add_limit_options, limits_from, report
from dslc.spec.errors import DslcErrors
from dslc.spec.load import load


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("check", help="validate spec files (fast; no JAX)",
                            description="Validate spec files. Exit 0: all valid; 2: some invalid.")
    parser.add_argument("files", nargs="+", metavar="SPEC", help=".yaml, .yml or .dsl spec files")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    add_limit_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    limits = limits_from(args)
    results = []
    for file in args.files:
        try:
            loaded = load(file, limits)
        except DslcErrors as errors:
            results.append({"file": file, "ok": False, "errors": errors})
            continue
        results.append({"file": file, "ok": True, "model": loaded.spec.model.name, "syntax": loaded.syntax,
                        "layers": len(loaded.graph.nodes)})
    if args.format == "json":
        print(json.dumps({"files": [_jsonable(r) for r in results], "summary": _summary(results)}, indent=2))
    else:
        _print_text(results)
    return 2 if any(not r["ok"] for r in results) else 0


def _print_text(results: list[dict]) -> None:
    for result in results:
        if result["ok"]:
            print(f"{result['file']}: ok: model '{result['model']}', {result['layers']} layers")
        else:
            report(result["errors"], sys.stdout)
    summary = _summary(results)
    print(f"{summary['files']} file(s) checked: {summary['valid']} valid, {summary['invalid']} invalid "
          f"({summary['errors']} error(s))")


def _jsonable(result: dict) -> dict:
    if result["ok"]:
        return result
    return {"file": result["file"], "ok": False, "errors": [e.to_json() for e in result["errors"].errors]}


def _summary(results: list[dict]) -> dict[str, int]:
    invalid = [r for r in results if not r["ok"]]
    return {"files": len(results), "valid": len(results) - len(invalid), "invalid": len(invalid),
            "errors": sum(len(r["errors"].errors) for r in invalid)}
