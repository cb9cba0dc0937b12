"""The steps of a sequence (the model's layers, or a block's body) compared: added, removed, moved, changed.

A layer's parameters are compared with their defaults filled in (`dropout: {rate: 0.5}` and a bare
`dropout` are the same layer when 0.5 is the default); a block call's arguments as written. Beside them
are compared `from`, `trainable`, a block call's `repeat`, and the explicit name.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from dslc.compiler.diff.align import align
from dslc.compiler.diff.names import step_kind, step_names
from dslc.compiler.diff.values import ABSENT, ValueChange, compare
from dslc.spec.ir import LayerCall, Step
from dslc.spec.layers import REGISTRY
from dslc.spec.sourcemap import IRPath, SourceMap

Status = Literal["added", "removed", "moved", "changed"]


@dataclass(frozen=True)
class StepView:
    """One step as the diff sees it: its place, its names and the values compared."""

    index: int
    name: str  # explicit, or automatic
    explicit_name: str | None
    kind: str  # the layer kind, or "block <name>"
    fields: dict[str, object]
    written: frozenset[str]  # the keys of `fields` that the spec wrote (the rest are defaults)

    @property
    def signature(self) -> str:
        """Equal for equal steps (exact: `repr`, where `show` shortens long strings)."""
        values = ", ".join(f"{key}={value!r}" for key, value in sorted(self.fields.items()))
        return f"{self.explicit_name or ''}:{self.kind}({values})"


def step_views(steps: tuple[Step, ...]) -> list[StepView]:
    return [StepView(index, name, step.name, _kind(step), _fields(step), frozenset(_written(step)))
            for index, (step, name) in enumerate(zip(steps, step_names(steps), strict=True))]


def _kind(step: Step) -> str:
    return step.kind if isinstance(step, LayerCall) else f"block {step_kind(step)}"


def _fields(step: Step) -> dict[str, object]:
    if isinstance(step, LayerCall):
        fields = {**_defaults(step.kind), **step.params}
    else:
        fields = {**step.args, "repeat": step.repeat}
    # No `from` is "the previous layer": shown as not set, not as a value `none` the spec never wrote.
    return {**fields, "from": ABSENT if step.inputs is None else step.inputs, "trainable": step.trainable}


def _written(step: Step) -> list[str]:
    given = list(step.params) if isinstance(step, LayerCall) else [*step.args, "repeat"]
    return [*given, "from", "trainable"]


@cache
def _defaults(kind: str) -> dict[str, object]:
    entry = REGISTRY.get(kind)
    if entry is None:
        return {}
    return {name: field.get_default(call_default_factory=True) for name, field in entry.params.model_fields.items()
            if not field.is_required()}


@dataclass(frozen=True)
class StepChange:
    """A step that is not the same on both sides. `name` is the new one (the old one for a removed step);
    `location` is in the new spec (the old one for a removed step)."""

    status: Status
    name: str
    old_name: str | None
    kind: str
    location: str
    changes: tuple[ValueChange, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"status": self.status, "name": self.name, "old_name": self.old_name, "kind": self.kind,
                "location": self.location, "changes": [change.to_json() for change in self.changes]}


@dataclass(frozen=True)
class Side:
    """One version of a sequence of steps: the steps, the source map of their spec, and their path in it."""

    steps: tuple[Step, ...]
    source_map: SourceMap
    path: IRPath  # ("model", "layers") or ("blocks", i, "layers")

    def where(self, index: int, key: str | None = None) -> str:
        step_path = (*self.path, index)
        if key is None:
            return str(self.source_map.key_or_value(step_path))
        return str(self.source_map.nearest((*step_path, key)))


@dataclass(frozen=True)
class StepsDiff:
    changes: tuple[StepChange, ...]  # in the new order; a removed step after its old predecessor
    unchanged: int
    renames: dict[str, str]  # old name -> new name of every step on both sides

    def to_json(self) -> dict[str, object]:
        return {"unchanged": self.unchanged, "changes": [change.to_json() for change in self.changes]}


def diff_steps(old: Side, new: Side) -> StepsDiff:
    old_views, new_views = step_views(old.steps), step_views(new.steps)
    changes: list[StepChange] = []
    renames: dict[str, str] = {}
    unchanged = 0
    for pair in align(old_views, new_views):
        if pair.new is None:
            assert pair.old is not None
            before = old_views[pair.old]
            changes.append(StepChange("removed", before.name, before.name, before.kind, old.where(pair.old)))
            continue
        after = new_views[pair.new]
        if pair.old is None:
            changes.append(StepChange("added", after.name, None, after.kind, new.where(pair.new)))
            continue
        before = old_views[pair.old]
        renames[before.name] = after.name
        values = _value_changes(before, after, new, pair.new)
        if not values and not pair.moved:
            unchanged += 1
            continue
        kind = after.kind if before.kind == after.kind else f"{before.kind} -> {after.kind}"
        changes.append(StepChange("moved" if pair.moved else "changed", after.name, before.name, kind,
                                  new.where(pair.new), tuple(values)))
    return StepsDiff(tuple(changes), unchanged, renames)


def _value_changes(old: StepView, new: StepView, side: Side, index: int) -> list[ValueChange]:
    found: list[ValueChange] = []
    if old.kind != new.kind:
        found.append(ValueChange(("kind",), old.kind, new.kind, side.where(index)))
    if old.explicit_name != new.explicit_name:
        found.append(ValueChange(("name",), old.name, new.name, side.where(index)))
    keys = dict.fromkeys([*old.fields, *new.fields])
    if old.kind != new.kind:  # the defaults of two kinds are not changes: only what either side wrote
        keys = dict.fromkeys(key for key in keys if key in old.written or key in new.written)
    for key in keys:
        for change in compare(old.fields.get(key, ABSENT), new.fields.get(key, ABSENT), (key,)):
            found.append(ValueChange(change.path, change.old, change.new, side.where(index, key)))
    return found

