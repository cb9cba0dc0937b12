"""`dslc check SPEC...`: validate specs, infer shapes, report the depth verdict, apply policy gates. No JAX.

Exit codes: 0 every file is valid and passes the gates; 1 a gate failed (or a lint rule warned, with
--warnings-as-errors); 2 a file is invalid. Lint warnings (W…, docs/lint.md) print but leave the exit code 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dslc.compiler.analysis.depth import SHALLOW, VERDICTS
from dslc.runtime.memory_plan import add_device_memory_option
from dslc.runtime.options import (
    add_data_root_option,
    add_limit_options,
    add_policy_option,
    budget,
    capped,
    hidden_text,
    limits_from,
    report,
)
from dslc.spec.codes import LINT_CODES
from dslc.spec.errors import DslcError, DslcErrors, Span

if TYPE_CHECKING:
    from dslc.compiler.analysis.model import Analysis
    from dslc.compiler.check import Checked
    from dslc.compiler.memory import Estimate

VERDICT_RANK = {verdict: rank for rank, verdict in enumerate(VERDICTS)}
REQUIREMENTS = VERDICTS  # `--require` names a verdict as the report spells it
DATA_SCAN_BYTES = 16 * 2**20  # a few seconds at most for the stdlib's CSV reader; 4,096 image headers


@dataclass
class FileResult:
    file: str
    errors: DslcErrors | None = None  # the file is invalid
    analysis: Analysis | None = None  # when valid
    gates: list[DslcError] = field(default_factory=list)  # gate failures (codes G...)
    warnings: list[DslcError] = field(default_factory=list)  # lint findings (codes W...), when valid
    warnings_fail: bool = False  # `--warnings-as-errors`: the warnings fail the file like a gate
    source: str | None = None
    explain: list[str] = field(default_factory=list)  # `--explain`: the depth rules, printed in text
    memory: Estimate | None = None  # `--memory`, `--device-memory`: a train step's planned memory per device
    memory_text: str = ""  # the same, as text prints it


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("check", help="validate specs: shapes, depth verdict, policy gates (fast; no JAX)",
                            description="Validate spec files. Exit 0: all valid and every gate passes; "
                                        "1: a gate failed; 2: a file is invalid.")
    parser.add_argument("files", nargs="+", metavar="SPEC", help=".yaml, .yml or .dsl spec files")
    parser.add_argument("--format", choices=("text", "json", "github", "sarif"), default="text",
                        help="text for people; json; github (workflow annotations); sarif (code-scanning tools)")
    parser.add_argument("--require", choices=REQUIREMENTS,
                        help="gate on the depth verdict: 'deep' accepts deep and very-deep; 'shallow' only shallow")
    parser.add_argument("--explain", action="store_true",
                        help="under each valid file, every depth rule with its value, threshold, margin and evidence "
                             "(text format; json carries them already)")
    parser.add_argument("--max-params", type=int, metavar="N", help="gate: at most N parameters in all")
    parser.add_argument("--max-flops", type=int, metavar="N", help="gate: at most N FLOPs per example")
    parser.add_argument("--select", type=_selectors, metavar="CODES",
                        help="lint rules to run, by code or prefix (W1,W105); replaces the configured selection")
    parser.add_argument("--ignore", type=_selectors, default=[], metavar="CODES",
                        help="lint rules not to run, by code or prefix (W104); added to the configured ones")
    parser.add_argument("--warnings-as-errors", action="store_true",
                        help="a lint warning fails the run (exit 1, like a gate)")
    add_policy_option(parser)
    add_limit_options(parser)
    add_device_memory_option(parser, placement=True)
    parser.add_argument("--memory", action="store_true",
                        help="show a train step's planned memory per device and its parts (no train section: "
                             "adam, batch 1)")
    add_data_root_option(parser)
    parser.add_argument("--data-scan-bytes", type=budget, default=DATA_SCAN_BYTES, metavar="N",
                        help="scan the labels of CSV data files up to N bytes (a label the loss cannot take is an "
                             "error before training), and the headers of an image folder's first N/4KiB files (a "
                             "file that is no PNG or JPEG is an error); 0: never (default 16MiB)")
    parser.set_defaults(run=run)


def _selectors(text: str) -> list[str]:
    from dslc.compiler.lint.config import split_selectors, unknown_selectors

    selectors = split_selectors(text)
    unknown = unknown_selectors(selectors, LINT_CODES)
    if unknown:
        raise argparse.ArgumentTypeError(f"'{unknown[0]}' selects no lint rule (rules: {', '.join(LINT_CODES)})")
    return selectors


def run(args: argparse.Namespace) -> int:
    from dslc.compiler.check import check_spec

    limits = limits_from(args)
    results = []
    for file in args.files:
        checked = check_spec(file, limits, args.policy)
        result = FileResult(file, checked.errors, checked.analysis, warnings_fail=args.warnings_as_errors)
        if checked.loaded is not None and checked.analysis is not None:
            result.source = checked.loaded.source.text
            name_span = checked.loaded.source_map.nearest(("model", "name"))
            result.gates = _gates(args, checked.analysis, name_span)
            _lint(args, checked, result)
            if args.memory or args.device_memory is not None:
                _memory(args, checked, result)
            if args.explain:
                from dslc.compiler.analysis.explain import explain_lines

                result.explain = explain_lines(checked.analysis.depth)
        results.append(result)
    _OUTPUTS[args.format](results, args.max_errors)
    if any(r.errors for r in results):
        return 2
    return 1 if any(_failed(r) for r in results) else 0


def _lint(args: argparse.Namespace, checked: Checked, result: FileResult) -> None:
    """The file's lint warnings into `result`, or its lint configuration's error (which makes the file invalid)."""
    from dslc.compiler.lint import lint_file

    loaded, analysis = checked.valid()
    try:
        result.warnings = lint_file(loaded, analysis, result.file, args.select, args.ignore)
    except DslcError as error:
        result.errors, result.analysis = DslcErrors([error]), None


def _memory(args: argparse.Namespace, checked: Checked, result: FileResult) -> None:
    """The planned memory into `result`; E616 (the file is invalid) when it exceeds `--device-memory`."""
    from dslc.runtime.memory_plan import memory_error, memory_line, plan

    loaded, analysis = checked.valid()
    train = loaded.spec.train
    result.memory = plan(loaded, analysis, train, args.devices, args.shard_params)
    result.memory_text = memory_line(result.memory, args.device_memory)
    if args.device_memory is not None:
        error = memory_error(loaded, analysis, train, args.device_memory, args.devices, args.shard_params)
        if error is not None:
            result.errors, result.analysis = DslcErrors([error], result.source), None


def _failed(result: FileResult) -> bool:
    """A valid file fails the run when a gate failed, or it has warnings and they count as errors."""
    return bool(result.gates or (result.warnings_fail and result.warnings))


def _gates(args: argparse.Namespace, analysis: Analysis, span: Span) -> list[DslcError]:
    failures = []
    depth = analysis.depth
    if args.require:
        if args.require == SHALLOW:
            ok = depth.verdict == SHALLOW
        else:  # 'deep' is met by very-deep models too
            ok = VERDICT_RANK[depth.verdict] >= VERDICT_RANK[args.require]
        if not ok:
            failures.append(DslcError("G001", f"the model is {depth.verdict} under the {depth.policy} policy; "
                                              f"--require {args.require}: {depth.sentence}", span, stage="gate"))
    params = analysis.totals.params
    if args.max_params is not None and params > args.max_params:
        failures.append(DslcError("G002", f"the model has {params:,} parameters; --max-params {args.max_params:,}",
                                  span, stage="gate"))
    flops = analysis.totals.flops
    if args.max_flops is not None and (flops is None or flops > args.max_flops):
        shown = "an unknown number of" if flops is None else f"{flops:,}"
        failures.append(DslcError("G003", f"the model needs {shown} FLOPs per example; "
                                          f"--max-flops {args.max_flops:,}", span, stage="gate"))
    return failures


def _findings(results: list[FileResult], max_errors: int) -> tuple[list[DslcError], list[str]]:
    """The findings to show (each file's first `max_errors`) and a note for each file whose others are not."""
    findings: list[DslcError] = []
    notes: list[str] = []
    for result in results:
        shown, hidden = capped(result.errors.errors if result.errors else result.gates + result.warnings, max_errors)
        findings += shown
        if hidden:
            notes.append(f"{result.file}: {hidden_text(hidden, max_errors)}")
    return findings, notes


def _print_text(results: list[FileResult], max_errors: int) -> None:
    for result in results:
        if result.errors:
            report(result.errors, sys.stdout, max_errors)
            continue
        analysis = result.analysis
        assert analysis is not None  # a file without errors was analysed
        print(f"{result.file}: ok: model '{analysis.model}', {len(analysis.layers)} layers, "
              f"{analysis.totals.params:,} params; {analysis.depth.sentence}")
        for line in result.explain:
            print(f"  {line}")
        if result.memory_text:
            print(result.memory_text)
        report(result.gates, sys.stdout, max_errors)
        report(DslcErrors(result.warnings, result.source), sys.stdout, max_errors)
    invalid = sum(1 for r in results if r.errors)
    gated = sum(1 for r in results if r.gates)
    errors = sum(len(r.errors.errors) for r in results if r.errors)
    warnings = sum(len(r.warnings) for r in results)
    counted = f"{errors} error(s)" + (f", {warnings} warning(s)" if warnings else "")
    print(f"{len(results)} file(s) checked: {len(results) - invalid} valid, {invalid} invalid ({counted})"
          + (f", {gated} failed a gate" if gated else ""))


def _print_json(results: list[FileResult], max_errors: int) -> None:
    files = []
    for result in results:
        entry: dict[str, object] = {"file": result.file, "ok": not result.errors and not _failed(result)}
        entry["warnings"] = [w.to_json() for w in result.warnings]
        if result.errors:
            shown, hidden = capped(result.errors.errors, max_errors)
            entry["errors"] = [e.to_json() for e in shown]
            entry["errors_not_shown"] = hidden
        else:
            analysis = result.analysis
            assert analysis is not None  # a file without errors was analysed
            entry.update({"model": analysis.model, "layers": len(analysis.layers),
                          "params": analysis.totals.params, "trainable": analysis.totals.trainable,
                          "frozen": analysis.totals.frozen, "batch_stats": analysis.totals.state,
                          "flops": analysis.totals.flops, "depth": analysis.depth.to_json(),
                          "gates": [e.to_json() for e in result.gates]})
            if result.memory is not None:
                entry["memory"] = result.memory.to_json()
        files.append(entry)
    print(json.dumps({"files": files, "summary": {
        "files": len(results), "invalid": sum(1 for r in results if r.errors),
        "gate_failures": sum(1 for r in results if r.gates),
        "errors": sum(len(r.errors.errors) for r in results if r.errors)}}, indent=2))


def _print_github(results: list[FileResult], max_errors: int) -> None:
    from dslc.runtime.findings import to_github

    findings, notes = _findings(results, max_errors)
    text = to_github(findings, notes=notes)
    if text:
        print(text)


def _print_sarif(results: list[FileResult], max_errors: int) -> None:
    from dslc import __version__
    from dslc.runtime.findings import to_sarif

    findings, notes = _findings(results, max_errors)
    print(json.dumps(to_sarif(findings, [r.file for r in results], __version__, notes=notes), indent=2))


_OUTPUTS = {"text": _print_text, "json": _print_json, "github": _print_github, "sarif": _print_sarif}
