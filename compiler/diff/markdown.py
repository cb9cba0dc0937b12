"""A diff as Markdown for a pull-request comment: the summary line, then a table per section that changed,
and the consequences (totals and depth verdicts as tables, changed layer shapes folded in <details>)."""

from __future__ import annotations

from dslc.compiler.diff.specdiff import SpecDiff
from dslc.compiler.diff.steps import StepChange
from dslc.compiler.diff.summary import TOTALS, delta_text, depth_value, headline, layer_counts, number
from dslc.compiler.diff.values import ValueChange, show
from dslc.spec.errors import printable

MARKS = {"added": "➕", "removed": "➖", "moved": "↕️", "changed": "✏️"}


def to_markdown(diff: SpecDiff) -> str:
    lines = [f"**dslc diff** {_md(headline(diff))}", ""]
    if diff.unchanged:
        return "\n".join(lines)
    if diff.model:
        lines += ["#### Model", "", *_values_table(diff.model), ""]
    lines += ["#### Layers", "", f"{layer_counts(diff)}.", ""]
    if diff.layers.changes:
        lines += _steps_table(diff.layers.changes, "layer") + [""]
    for block in diff.blocks:
        lines.append(f"#### Block `{_code(block.name)}` {block.status} ({_code_span(block.location)})")
        lines.append("")
        if block.call_sites:
            lines += ["Called by " + ", ".join(_code_span(site) for site in block.call_sites) + ".", ""]
        if block.params:
            lines += _values_table(block.params) + [""]
        if block.body is not None and block.body.changes:
            lines += _steps_table(block.body.changes, "step") + [""]
    if diff.train:
        lines += ["#### Train", "", *_values_table(diff.train), ""]
    lines += _consequences(diff)
    return "\n".join(lines)


def _values_table(changes: tuple[ValueChange, ...]) -> list[str]:
    rows = [f"| `{_code(c.key)}` | {_code_span(show(c.old))} | {_code_span(show(c.new))} | {_code_span(c.location)} |"
            for c in changes]
    return ["| key | old | new | where |", "|---|---|---|---|", *rows]


def _steps_table(changes: tuple[StepChange, ...], noun: str) -> list[str]:
    rows = []
    for change in changes:
        name = f"`{_code(change.name)}`"
        if change.old_name is not None and change.old_name != change.name:
            name += f" (was `{_code(change.old_name)}`)"
        values = "<br>".join(f"`{_code(v.key)}`: {_code_span(show(v.old))} → {_code_span(show(v.new))}"
                             for v in change.changes)
        rows.append(f"| {MARKS[change.status]} | {name} | `{_code(change.kind)}` | {change.status} | {values} | "
                    f"{_code_span(change.location)} |")
    return [f"| | {noun} | kind | status | changes | where |", "|---|---|---|---|---|---|", *rows]


def _consequences(diff: SpecDiff) -> list[str]:
    found = diff.consequences
    lines = ["#### Consequences", "", "| total | old | new | Δ |", "|---|---:|---:|---:|"]
    lines += [f"| {label} | {number(found.totals[key].old)} | {number(found.totals[key].new)} | "
              f"{delta_text(found.totals[key])} |" for key, label in TOTALS.items()]
    lines += ["", "| depth policy | measure | old | new |", "|---|---|---|---|"]
    for verdict in found.verdicts:
        policy = f"**{verdict.policy}**" if verdict.policy == found.policy else verdict.policy
        lines.append(f"| {policy} | {verdict.measure} | {verdict.old} ({depth_value(verdict.old_value)}) | "
                     f"{verdict.new} ({depth_value(verdict.new_value)}) |")
    if found.layers:
        lines += ["", f"<details><summary>{len(found.layers)} layer(s) with a new output shape or parameter count"
                      "</summary>", "", "| layer | output | params | where |", "|---|---|---:|---|"]
        for effect in found.layers:
            output = effect.new_output if effect.old_output == effect.new_output else \
                f"{effect.old_output} → {effect.new_output}"
            params = number(effect.new_params) if effect.old_params == effect.new_params else \
                f"{number(effect.old_params)} → {number(effect.new_params)}"
            lines.append(f"| `{_code(effect.name)}` | {output} | {params} | {_code_span(effect.location)} |")
        lines += ["", "</details>"]
    return [*lines, ""]


def _md(text: str) -> str:
    """Plain text in Markdown: user text must not break the line or inject markup."""
    text = printable(text)
    for ch in "\\`*_[]<|":
        text = text.replace(ch, "\\" + ch)
    return text


def _code(text: str) -> str:
    # Inside a code span only backticks and the table's pipes matter.
    return printable(text).replace("`", "'").replace("|", "\\|")


def _code_span(text: str) -> str:
    return f"`{_code(text)}`"
