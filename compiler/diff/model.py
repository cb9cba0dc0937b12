"""The model's own keys compared: its name, its inputs (by name: shape and dtype) and its outputs."""

from __future__ import annotations

from dslc.compiler.diff.values import ABSENT, ValueChange, same
from dslc.spec.ir import Input, Model
from dslc.spec.sourcemap import SourceMap


def diff_model_keys(old: Model, new: Model, new_map: SourceMap) -> tuple[ValueChange, ...]:
    found: list[ValueChange] = []
    if not same(old.name, new.name):
        found.append(ValueChange(("name",), old.name, new.name, str(new_map.nearest(("model", "name")))))
    old_inputs = {i.name: _shown(i) for i in old.inputs}
    new_inputs = {i.name: _shown(i) for i in new.inputs}
    positions = {i.name: index for index, i in enumerate(new.inputs)}
    for name in dict.fromkeys([*old_inputs, *new_inputs]):
        before, after = old_inputs.get(name, ABSENT), new_inputs.get(name, ABSENT)
        if not same(before, after):
            where = (new_map.key_or_value(("model", "inputs", positions[name])) if name in positions
                     else new_map.nearest(("model", "inputs")))
            found.append(ValueChange(("inputs", name), before, after, str(where)))
    if not same(old.outputs, new.outputs):  # no outputs: the last layer (not set, rather than a value `none`)
        before, after = (ABSENT if outputs is None else outputs for outputs in (old.outputs, new.outputs))
        found.append(ValueChange(("outputs",), before, after, str(new_map.nearest(("model", "outputs")))))
    return tuple(found)


def _shown(model_input: Input) -> tuple[object, ...]:
    """`[8, 8, 1]`, with the dtype after it when it is not float32."""
    shape = tuple(model_input.shape)
    return shape if model_input.dtype == "float32" else (*shape, model_input.dtype)
