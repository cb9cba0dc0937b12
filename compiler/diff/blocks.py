"""Block definitions compared by name: added, removed, or changed (parameters, body).

A change to a block's body is reported once, at the definition, with the steps that call the block
(in the model and in other blocks' bodies) listed as its call sites: the calls themselves did not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dslc.compiler.diff.names import step_names
from dslc.compiler.diff.steps import Side, StepsDiff, diff_steps
from dslc.compiler.diff.values import ABSENT, ValueChange, compare
from dslc.spec.ir import BlockCall, BlockDef, Spec, Step
from dslc.spec.sourcemap import IRPath, SourceMap

REQUIRED = "(required)"  # a block parameter without a default, shown where a default would be


@dataclass(frozen=True)
class BlockChange:
    status: Literal["added", "removed", "changed"]
    name: str
    location: str  # in the new spec (the old one for a removed block)
    params: tuple[ValueChange, ...] = ()  # each parameter's default, or REQUIRED
    body: StepsDiff | None = None
    call_sites: tuple[str, ...] = ()  # `name (file:line:col)` of each call in the new spec

    def to_json(self) -> dict[str, object]:
        return {"status": self.status, "name": self.name, "location": self.location,
                "params": [change.to_json() for change in self.params],
                "body": None if self.body is None else self.body.to_json(), "call_sites": list(self.call_sites)}


@dataclass(frozen=True)
class BlocksDiff:
    changes: tuple[BlockChange, ...]
    bodies: dict[str, StepsDiff]  # every block on both sides, by name (the consequences follow their renames)


def diff_blocks(old: Spec, old_map: SourceMap, new: Spec, new_map: SourceMap) -> BlocksDiff:
    old_index = {block.name: index for index, block in enumerate(old.blocks)}
    new_index = {block.name: index for index, block in enumerate(new.blocks)}
    changes: list[BlockChange] = []
    bodies: dict[str, StepsDiff] = {}
    for name, index in new_index.items():
        where = str(new_map.key_or_value(("blocks", index)))
        if name not in old_index:
            changes.append(BlockChange("added", name, where, call_sites=_call_sites(new, new_map, name)))
            continue
        before, after = old.blocks[old_index[name]], new.blocks[index]
        body = diff_steps(Side(before.layers, old_map, ("blocks", old_index[name], "layers")),
                          Side(after.layers, new_map, ("blocks", index, "layers")))
        bodies[name] = body
        params = _param_changes(before, after, new_map, index)
        if params or body.changes:
            changes.append(BlockChange("changed", name, where, params, body, _call_sites(new, new_map, name)))
    changes += [BlockChange("removed", name, str(old_map.key_or_value(("blocks", index))))
                for name, index in old_index.items() if name not in new_index]
    return BlocksDiff(tuple(changes), bodies)


def _param_changes(old: BlockDef, new: BlockDef, new_map: SourceMap, index: int) -> tuple[ValueChange, ...]:
    defaults_old = {p.name: REQUIRED if p.required else p.default for p in old.params}
    defaults_new = {p.name: REQUIRED if p.required else p.default for p in new.params}
    positions = {p.name: position for position, p in enumerate(new.params)}
    found: list[ValueChange] = []
    for name in dict.fromkeys([*defaults_old, *defaults_new]):
        where = str(new_map.nearest(("blocks", index, "params", positions.get(name, len(new.params)))))
        found += [ValueChange(("params", name, *change.path), change.old, change.new, where)
                  for change in compare(defaults_old.get(name, ABSENT), defaults_new.get(name, ABSENT))]
    return tuple(found)


def _call_sites(spec: Spec, source_map: SourceMap, block: str) -> tuple[str, ...]:
    sequences: list[tuple[IRPath, str, tuple[Step, ...]]] = [(("model", "layers"), "", spec.model.layers)]
    sequences += [(("blocks", index, "layers"), f"{body.name}/", body.layers) for index, body in enumerate(spec.blocks)]
    sites: list[str] = []
    for path, prefix, steps in sequences:
        for index, (step, name) in enumerate(zip(steps, step_names(steps), strict=True)):
            if isinstance(step, BlockCall) and step.block == block:
                sites.append(f"{prefix}{name} ({source_map.key_or_value((*path, index))})")
    return tuple(sites)
