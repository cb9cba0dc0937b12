"""A diff as plain text for a terminal: the summary line, then each section that has changes."""

from __future__ import annotations

from dslc.compiler.diff.blocks import BlockChange
from dslc.compiler.diff.specdiff import SpecDiff
from dslc.compiler.diff.steps import StepChange
from dslc.compiler.diff.summary import TOTALS, before_after, depth_value, headline, layer_counts
from dslc.compiler.diff.values import ValueChange, show
from dslc.spec.errors import printable

MARKS = {"added": "+", "removed": "-", "moved": ">", "changed": "~"}


def to_text(diff: SpecDiff) -> str:
    lines = [headline(diff)]
    if diff.unchanged:
        return lines[0] + "\n"
    if diff.model:
        lines += ["model:", *(_value(change, "  ") for change in diff.model)]
    lines.append(f"layers: {layer_counts(diff)}")
    for change in diff.layers.changes:
        lines += _step(change, "  ")
    if diff.blocks:
        lines.append("blocks:")
        for block in diff.blocks:
            lines += _block(block)
    if diff.train:
        lines += ["train:", *(_value(change, "  ") for change in diff.train)]
    lines += _consequences(diff)
    return "\n".join(lines) + "\n"


def _value(change: ValueChange, indent: str) -> str:
    return f"{indent}{printable(change.key)}: {show(change.old)} -> {show(change.new)}  ({change.location})"


def _step(change: StepChange, indent: str) -> list[str]:
    name = printable(change.name)
    if change.old_name is not None and change.old_name != change.name:
        name += f" (was {printable(change.old_name)})"
    moved = " moved" if change.status == "moved" else ""
    head = f"{indent}{MARKS[change.status]} {name}  {printable(change.kind)}{moved}  ({change.location})"
    return [head, *(_value(value, indent + "    ") for value in change.changes)]


def _block(block: BlockChange) -> list[str]:
    lines = [f"  {MARKS[block.status]} block {printable(block.name)} {block.status}  ({block.location})"]
    if block.call_sites:
        lines.append(f"      called by: {', '.join(block.call_sites)}")
    lines += [_value(change, "      ") for change in block.params]
    for change in block.body.changes if block.body else ():
        lines += _step(change, "      ")
    return lines


def _consequences(diff: SpecDiff) -> list[str]:
    found = diff.consequences
    lines = ["consequences:"]
    for effect in found.layers:
        output = effect.new_output if effect.old_output == effect.new_output else \
            f"{effect.old_output} -> {effect.new_output}"
        params = f"{effect.old_params:,}" if effect.old_params == effect.new_params else \
            f"{effect.old_params:,} -> {effect.new_params:,}"
        lines.append(f"  {printable(effect.name)}: output {output}, params {params}  ({effect.location})")
    lines += [f"  {label}: {before_after(found.totals[key])}" for key, label in TOTALS.items()]
    for verdict in found.verdicts:
        chosen = " (the spec's policy)" if verdict.policy == found.policy else ""
        values = f"{verdict.measure} {depth_value(verdict.old_value)}"
        if verdict.old_value != verdict.new_value:
            values += f" -> {depth_value(verdict.new_value)}"
        result = verdict.new if verdict.old == verdict.new else f"{verdict.old} -> {verdict.new}"
        lines.append(f"  depth verdict, {verdict.policy}{chosen}: {result} ({values})")
    return lines
