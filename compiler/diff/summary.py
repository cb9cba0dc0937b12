"""What both renderings share: numbers before and after, and the one-line summary of a diff."""

from __future__ import annotations

from dslc.compiler.diff.consequences import Total
from dslc.compiler.diff.specdiff import SpecDiff
from dslc.spec.errors import printable

NOTHING_CHANGED = "nothing changed (the model, its blocks and the train section mean the same)"
STATUSES = ("added", "removed", "moved", "changed")
TOTALS = {"params": "params", "trainable": "trainable params", "frozen": "frozen params",
          "state": "batch statistics", "flops": "FLOPs per example", "activation_bytes": "activation bytes per example"}


def number(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def signed(value: int | None) -> str:
    if value is None:
        return "?"
    return f"{value:+,}" if value else "0"


def percent(old: int | None, new: int | None) -> str | None:
    """The relative change, one decimal; None when it has no meaning (unknown, or from zero)."""
    if old is None or new is None or old == 0:
        return None
    return f"{(new - old) / old * 100:+.1f}%"


def delta_text(total: Total) -> str:
    """`+12,345 (+3.1%)`, `unchanged`, or `?` when unknown."""
    if total.delta is None:
        return "?"
    if total.delta == 0:
        return "unchanged"
    pct = percent(total.old, total.new)
    return f"{signed(total.delta)} ({pct})" if pct else signed(total.delta)


def before_after(total: Total) -> str:
    """`1,000 -> 1,200 (+200, +20.0%)`, or the one number when unchanged."""
    if total.old == total.new:
        return number(total.new)
    pct = percent(total.old, total.new)
    return f"{number(total.old)} -> {number(total.new)} ({signed(total.delta)}{', ' + pct if pct else ''})"


def model_title(diff: SpecDiff) -> str:
    old, new = printable(diff.old_model), printable(diff.new_model)
    return new if old == new else f"{old} -> {new}"


def layer_counts(diff: SpecDiff) -> str:
    """`1 added, 0 removed, 0 moved, 2 changed, 4 unchanged`."""
    counts = [f"{sum(1 for c in diff.layers.changes if c.status == status)} {status}" for status in STATUSES]
    return ", ".join([*counts, f"{diff.layers.unchanged} unchanged"])


def what_changed(diff: SpecDiff) -> str:
    """`layers: 1 added, 2 changed; block residual changed; train: 3 keys` or NOTHING_CHANGED."""
    if diff.unchanged:
        return NOTHING_CHANGED
    parts: list[str] = []
    if diff.model:
        parts.append(f"model: {_plural(len(diff.model), 'key')}")
    if diff.layers.changes:
        counts = [f"{n} {status}" for status in STATUSES
                  if (n := sum(1 for c in diff.layers.changes if c.status == status))]
        parts.append("layers: " + ", ".join(counts))
    parts += [f"block {printable(block.name)} {block.status}" for block in diff.blocks]
    if diff.train:
        parts.append(f"train: {_plural(len(diff.train), 'key')}")
    return "; ".join(parts)


def headline(diff: SpecDiff) -> str:
    """What changed, then params, FLOPs and the verdict under the spec's policy."""
    if diff.unchanged:
        return f"{model_title(diff)}: {NOTHING_CHANGED}"
    totals, verdict = diff.consequences.totals, diff.consequences.verdict
    verdict_text = f"{verdict.new} (unchanged)" if verdict.old == verdict.new else f"{verdict.old} -> {verdict.new}"
    return (f"{model_title(diff)}: {what_changed(diff)}; params {delta_text(totals['params'])}, "
            f"FLOPs {delta_text(totals['flops'])}, verdict {verdict_text}")


def depth_value(value: int | float) -> str:
    return "unbounded" if value == float("inf") else str(value)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
