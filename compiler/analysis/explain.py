"""`--explain`: each depth rule with its measured value, the threshold it is judged by, how close it
sits to that threshold, and its evidence (docs/depth.md#--explain), as text lines or as Markdown.

The verdict sentence says what was decided; this says why, for a reviewer who does not read JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dslc.compiler.analysis.depth import DECIDING_RULE, THRESHOLD, DepthReport, RuleResult, margin, verdict_of

# What the value of each rule that never decides counts (the judged ones are depths).
_REPORTED = {"D0": "classes over all layers", "D4": "steps cap unrolls", "D5": "W on the shortest path",
             "R1": "input positions on the first spatial axis"}


@dataclass(frozen=True)
class _Explained:
    heading: str  # "D3 learned hierarchy"
    value: str
    unit: str  # what the value of a rule that never decides counts; "" for a depth
    verdict: str  # "" for a rule that never decides
    margin: str
    role: str  # whose measure it is, whether it decides the verdict
    evidence: tuple[str, ...]  # the rule's detail, then its further evidence


def explain_lines(report: DepthReport) -> list[str]:
    """Text lines, unindented: a header, then per rule a line of its judgement and its evidence under it."""
    lines = [_header(report)]
    for rule in _explained(report):
        unit = f" ({rule.unit})" if rule.unit else ""
        judged = f": {rule.verdict}, {rule.margin}" if rule.verdict else ""
        lines.append(f"{rule.heading} = {rule.value}{unit}{judged}; {rule.role}")
        lines.extend(f"  {line}" for line in rule.evidence)
    return lines


def explain_markdown(report: DepthReport) -> str:
    """A table of the rules' values, verdicts and margins, then each rule's evidence as a list."""
    lines = [_md(_header(report)), "", "| rule | value | verdict | margin | role |", "|---|--:|---|---|---|"]
    rules = _explained(report)
    for r in rules:
        cells = (r.heading, f"{r.value} ({r.unit})" if r.unit else r.value, r.verdict, r.margin, r.role)
        lines.append("| " + " | ".join(_md(cell) or " " for cell in cells) + " |")
    lines.append("")
    for rule in rules:
        first, *rest = rule.evidence
        lines.append(f"- **{_md(rule.heading)}**: {_md(first)}")
        lines.extend(f"  - {_md(line)}" for line in rest)
    return "\n".join(lines) + "\n"


def _header(report: DepthReport) -> str:
    return (f"depth rules: {report.policy} decides with {DECIDING_RULE[report.policy]}; "
            f"thresholds: {THRESHOLD}")


def _explained(report: DepthReport) -> list[_Explained]:
    measures = {rule: policy for policy, rule in DECIDING_RULE.items()}
    deciding = DECIDING_RULE[report.policy]
    out = []
    for rule in report.rules:
        evidence = (rule.detail, *rule.evidence)
        heading = f"{rule.rule} {rule.title}"
        if rule.threshold is None or isinstance(rule.value, dict):
            out.append(_Explained(heading, _value(rule), _REPORTED.get(rule.rule, ""), "", "",
                                  "reported, never decides", evidence))
            continue
        role = f"the measure of {measures[rule.rule]}" if rule.rule in measures else "judged, no policy's measure"
        if rule.rule == deciding:
            role += ", which decides the verdict"
        out.append(_Explained(heading, _value(rule), "", verdict_of(rule.value), margin(rule.value), role, evidence))
    return out


def _value(rule: RuleResult) -> str:
    if isinstance(rule.value, dict):
        return ", ".join(f"{name} {count}" for name, count in rule.value.items())
    return "unbounded" if rule.value == math.inf else str(rule.value)


def _md(text: str) -> str:
    """Text in Markdown, literally: layer names hold underscores, tables need their pipes escaped."""
    for special in ("\\", "`", "*", "_", "|", "[", "]", "<"):
        text = text.replace(special, "\\" + special)
    return text
