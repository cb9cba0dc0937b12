"""What changed between two analyses of a spec: layers, shapes, parameters, FLOPs and the depth verdict.

Layers (and model inputs, as kind "input") are matched by name, since names are
what a reviewer sees in the spec. A matched layer is "changed" when its kind,
output tensor, parameter count, trainable flag or inputs differ; FLOPs alone
follow from those and are reported as deltas, not as a reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from dslc.compiler.analysis.model import Analysis, LayerReport
from dslc.spec.errors import printable
from dslc.spec.layers.base import Tensor, show_shape

Status = Literal["added", "removed", "changed"]


def shape_text(tensor: Tensor | None) -> str:
    """`8x8x16`, `?` for an unknown dimension, `()` for a scalar; non-float32 dtypes are named."""
    if tensor is None:
        return ""
    text = show_shape(tensor.shape, compact=True)
    return text if tensor.dtype == "float32" else f"{text} {tensor.dtype}"


def signed(value: int | None) -> str:
    if value is None:
        return "?"
    return f"{value:+,}" if value else "0"


def number(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def percent(old: int | None, new: int | None) -> str | None:
    """The relative change, one decimal; None when it has no meaning (unknown, or from zero)."""
    if old is None or new is None or old == 0:
        return None
    return f"{(new - old) / old * 100:+.1f}%"


def _delta(old: int | None, new: int | None) -> int | None:
    return None if old is None or new is None else new - old


@dataclass(frozen=True)
class _Entry:
    """What the diff compares of one layer or model input."""

    name: str
    kind: str
    output: Tensor
    params: int
    flops: int | None
    trainable: bool
    inputs: tuple[str, ...]

    @classmethod
    def of_layer(cls, layer: LayerReport) -> _Entry:
        return cls(layer.name, layer.kind, layer.output, layer.params, layer.flops, layer.trainable, layer.inputs)

    @classmethod
    def of_input(cls, name: str, tensor: Tensor) -> _Entry:
        return cls(name, "input", tensor, 0, 0, True, ())


def _entries(analysis: Analysis) -> dict[str, _Entry]:
    entries = {name: _Entry.of_input(name, tensor) for name, tensor in analysis.inputs}
    entries.update((layer.name, _Entry.of_layer(layer)) for layer in analysis.layers)
    return entries


@dataclass(frozen=True)
class LayerChange:
    name: str
    status: Status
    old_kind: str | None
    new_kind: str | None
    old_output: Tensor | None
    new_output: Tensor | None
    old_params: int  # 0 on the side where the layer does not exist
    new_params: int
    old_flops: int | None
    new_flops: int | None
    reasons: tuple[str, ...]  # for "changed": kind, output, params, trainable, inputs

    @property
    def params_delta(self) -> int:
        return self.new_params - self.old_params

    @property
    def flops_delta(self) -> int | None:
        return _delta(self.old_flops, self.new_flops)

    @property
    def kind(self) -> str:
        if self.old_kind and self.new_kind and self.old_kind != self.new_kind:
            return f"{self.old_kind} -> {self.new_kind}"
        return self.new_kind or self.old_kind or ""

    @property
    def output(self) -> str:
        old, new = shape_text(self.old_output), shape_text(self.new_output)
        if self.status == "changed" and old != new:
            return f"{old} -> {new}"
        return new or old

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "status": self.status, "reasons": list(self.reasons),
                "old": None if self.old_kind is None else {
                    "kind": self.old_kind, "output": _tensor_json(self.old_output),
                    "params": self.old_params, "flops": self.old_flops},
                "new": None if self.new_kind is None else {
                    "kind": self.new_kind, "output": _tensor_json(self.new_output),
                    "params": self.new_params, "flops": self.new_flops},
                "params_delta": self.params_delta, "flops_delta": self.flops_delta}


def _tensor_json(tensor: Tensor | None) -> dict[str, object] | None:
    return None if tensor is None else {"shape": list(tensor.shape), "dtype": tensor.dtype}


@dataclass(frozen=True)
class Change:
    """One total, before and after."""

    old: int | None
    new: int | None

    @property
    def delta(self) -> int | None:
        return _delta(self.old, self.new)

    def text(self) -> str:
        """`+12,345 (+3.1%)`, `0`, or `?` when unknown."""
        if self.delta is None:
            return "?"
        if self.delta == 0:
            return "unchanged"
        pct = percent(self.old, self.new)
        return f"{signed(self.delta)} ({pct})" if pct else signed(self.delta)

    def to_json(self) -> dict[str, object]:
        return {"old": self.old, "new": self.new, "delta": self.delta}


@dataclass(frozen=True)
class SpecDiff:
    old_file: str
    new_file: str
    old_model: str
    new_model: str
    layers: tuple[LayerChange, ...]  # added and changed in the new order, then removed in the old order
    unchanged: int
    params: Change
    trainable: Change
    frozen: Change
    flops: Change
    old_verdict: str
    new_verdict: str
    old_policy: str
    new_policy: str

    @property
    def empty(self) -> bool:
        return not self.layers and self.old_verdict == self.new_verdict and self.old_model == self.new_model

    def verdict_text(self) -> str:
        if self.old_verdict == self.new_verdict:
            return f"{self.new_verdict} (unchanged)"
        return f"{self.old_verdict} -> {self.new_verdict}"

    def headline(self) -> str:
        """`params +12,345 (+3.1%), FLOPs +1,024 (+0.5%), verdict deep -> very deep`."""
        return f"params {self.params.text()}, FLOPs {self.flops.text()}, verdict {self.verdict_text()}"

    def counts(self) -> str:
        by_status = {status: sum(1 for c in self.layers if c.status == status)
                     for status in ("added", "removed", "changed")}
        return ", ".join(f"{n} {status}" for status, n in by_status.items()) + f", {self.unchanged} unchanged"

    def _model_text(self) -> str:
        old, new = printable(self.old_model), printable(self.new_model)
        return new if old == new else f"{old} -> {new}"

    def to_text(self) -> str:
        lines = [f"{self._model_text()}: {self.headline()}", f"layers: {self.counts()}"]
        marks = {"added": "+", "removed": "-", "changed": "~"}
        rows = [(marks[c.status], printable(c.name), printable(c.kind), c.output, _params_cell(c),
                 signed(c.flops_delta), ", ".join(c.reasons)) for c in self.layers]
        if rows:
            widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
            for row in rows:
                cells = [row[0], *(cell.ljust(w) for cell, w in zip(row[1:5], widths[1:5], strict=True))]
                cells.append(f"FLOPs {row[5]}".ljust(widths[5] + 6))
                if row[6]:
                    cells.append(f"({row[6]})")
                lines.append("  " + "  ".join(cells).rstrip())
        lines.append(f"totals: trainable {_before_after(self.trainable)}, frozen {_before_after(self.frozen)}, "
                     f"FLOPs {_before_after(self.flops)}")
        policy = self.new_policy if self.old_policy == self.new_policy else f"{self.old_policy} -> {self.new_policy}"
        lines.append(f"depth verdict ({policy}): {self.verdict_text()}")
        return "\n".join(lines) + "\n"

    def to_markdown(self) -> str:
        lines = [f"**dslc diff** `{_md_code(self._model_text())}`: {self.headline()}", ""]
        if self.layers:
            lines += ["| | layer | kind | output | params | Δ params | Δ FLOPs |", "|---|---|---|---|---:|---:|---:|"]
            marks = {"added": "➕", "removed": "➖", "changed": "✏️"}
            for c in self.layers:
                cells = (marks[c.status], f"`{_md_code(c.name)}`", f"`{_md_code(c.kind)}`", c.output,
                         _params_cell(c), signed(c.params_delta), signed(c.flops_delta))
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
        else:
            lines += ["No layer changed.", ""]
        lines.append(f"Layers: {self.counts()}.")
        lines.append("")
        lines += ["| total | old | new | Δ |", "|---|---:|---:|---:|"]
        for label, change in (("trainable params", self.trainable), ("frozen params", self.frozen),
                              ("FLOPs per example", self.flops)):
            lines.append(f"| {label} | {number(change.old)} | {number(change.new)} | {change.text()} |")
        lines.append(f"| depth verdict ({_md(self.new_policy)}) | {_md(self.old_verdict)} | "
                     f"{_md(self.new_verdict)} | {'changed' if self.old_verdict != self.new_verdict else ''} |")
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, object]:
        return {
            "old": {"file": self.old_file, "model": self.old_model},
            "new": {"file": self.new_file, "model": self.new_model},
            "headline": self.headline(),
            "layers": [c.to_json() for c in self.layers],
            "unchanged": self.unchanged,
            "totals": {"params": self.params.to_json(), "trainable": self.trainable.to_json(),
                       "frozen": self.frozen.to_json(), "flops": self.flops.to_json()},
            "verdict": {"old": self.old_verdict, "new": self.new_verdict,
                        "changed": self.old_verdict != self.new_verdict,
                        "old_policy": self.old_policy, "new_policy": self.new_policy},
        }


def _params_cell(change: LayerChange) -> str:
    if change.status == "added":
        return number(change.new_params)
    if change.status == "removed":
        return number(change.old_params)
    if change.old_params == change.new_params:
        return number(change.new_params)
    return f"{number(change.old_params)} -> {number(change.new_params)}"


def _before_after(change: Change) -> str:
    if change.old == change.new:
        return number(change.new)
    pct = percent(change.old, change.new)
    return f"{number(change.old)} -> {number(change.new)} ({signed(change.delta)}{', ' + pct if pct else ''})"


def _md(text: str) -> str:
    """A Markdown table cell: user text must not break the row or inject markup."""
    text = printable(text)
    for ch in "\\`*_[]<|":
        text = text.replace(ch, "\\" + ch)
    return text


def _md_code(text: str) -> str:
    # Inside a code span only backticks and the table's pipes matter.
    return printable(text).replace("`", "'").replace("|", "\\|")


def _reasons(old: _Entry, new: _Entry) -> tuple[str, ...]:
    checks = (("kind", old.kind != new.kind), ("output", old.output != new.output),
              ("params", old.params != new.params), ("trainable", old.trainable != new.trainable),
              ("inputs", old.inputs != new.inputs))
    return tuple(reason for reason, differs in checks if differs)


def _change(name: str, status: Status, old: _Entry | None, new: _Entry | None,
            reasons: Iterable[str] = ()) -> LayerChange:
    return LayerChange(
        name=name, status=status,
        old_kind=old.kind if old else None, new_kind=new.kind if new else None,
        old_output=old.output if old else None, new_output=new.output if new else None,
        old_params=old.params if old else 0, new_params=new.params if new else 0,
        old_flops=old.flops if old else 0, new_flops=new.flops if new else 0,
        reasons=tuple(reasons))


def diff_analyses(old: Analysis, new: Analysis) -> SpecDiff:
    old_entries, new_entries = _entries(old), _entries(new)
    changes: list[LayerChange] = []
    unchanged = 0
    for name, entry in new_entries.items():
        before = old_entries.get(name)
        if before is None:
            changes.append(_change(name, "added", None, entry))
            continue
        reasons = _reasons(before, entry)
        if reasons:
            changes.append(_change(name, "changed", before, entry, reasons))
        else:
            unchanged += 1
    changes += [_change(name, "removed", entry, None) for name, entry in old_entries.items()
                if name not in new_entries]
    return SpecDiff(
        old_file=old.file, new_file=new.file, old_model=old.model, new_model=new.model,
        layers=tuple(changes), unchanged=unchanged,
        params=Change(old.totals.params, new.totals.params),
        trainable=Change(old.totals.trainable, new.totals.trainable),
        frozen=Change(old.totals.frozen, new.totals.frozen),
        flops=Change(old.totals.flops, new.totals.flops),
        old_verdict=old.depth.verdict, new_verdict=new.depth.verdict,
        old_policy=old.depth.policy, new_policy=new.depth.policy,
    )
