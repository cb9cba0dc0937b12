"""IR -> canonical spec text. `print_spec` picks the syntax; this module writes YAML.

The canonical YAML is block style for sections and layer lists and flow style
for parameters. It prints only what the spec states (defaults the spec left
out stay out), so `load(print(ir)) == ir` and printing is idempotent.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from pydantic import BaseModel

from dslc.spec.ir import BlockDef, Input, LayerCall, Model, Ref, Spec, Step, Train
from dslc.spec.vocab import Choice

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_RESERVED = {"null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "y", "n"}


def print_spec(spec: Spec, syntax: str) -> str:
    if syntax == "dsl":
        from dslc.spec.dsl_printer import print_dsl
        return print_dsl(spec)
    return print_yaml(spec)


def print_yaml(spec: Spec) -> str:
    lines = [f"dslc: {spec.version}"]
    if spec.blocks:
        lines.append("blocks:")
        for block in spec.blocks:
            lines.extend(_block(block))
    lines.extend(_model(spec.model))
    if spec.train is not None:
        lines.extend(_train(spec.train))
    return "\n".join(lines) + "\n"


def _block(block: BlockDef) -> list[str]:
    lines = [f"  {_key(block.name)}:"]
    if block.params:
        params = [_key(p.name) if p.required else f"{{{_key(p.name)}: {flow(p.default)}}}" for p in block.params]
        lines.append(f"    params: [{', '.join(params)}]")
    lines.append("    layers:" if block.layers else "    layers: []")
    lines.extend(line for step in block.layers for line in _step(step, "      "))
    return lines


def _model(model: Model) -> list[str]:
    lines = ["model:", f"  name: {_key(model.name)}", f"  inputs: {{{', '.join(_input(i) for i in model.inputs)}}}",
             "  layers:"]
    lines.extend(line for step in model.layers for line in _step(step, "    "))
    if model.outputs is not None:
        lines.append(f"  outputs: {flow(model.outputs)}")
    return lines


def _input(model_input: Input) -> str:
    shape = flow(model_input.shape)
    if model_input.dtype == "float32":
        return f"{_key(model_input.name)}: {shape}"
    return f"{_key(model_input.name)}: {{shape: {shape}, dtype: {model_input.dtype}}}"


def _step(step: Step, indent: str) -> list[str]:
    if isinstance(step, LayerCall):
        kind, arguments = step.kind, step.params
        attributes: dict[str, object] = {"name": step.name, "from": step.inputs,
                                         "trainable": None if step.trainable else False}
    else:
        kind, arguments = step.block, step.args
        attributes = {"name": step.name, "from": step.inputs, "trainable": None if step.trainable else False,
                      "repeat": step.repeat if step.repeat != 1 else None}
    attributes = {key: value for key, value in attributes.items() if value is not None}
    if not arguments and not attributes:
        return [f"{indent}- {_key(kind)}"]
    lines = [f"{indent}- {_key(kind)}: {_mapping(arguments)}"]
    lines.extend(f"{indent}  {key}: {flow(value)}" for key, value in attributes.items())
    return lines


def _train(train: Train) -> list[str]:
    lines = ["train:"]
    for name in type(train).model_fields:
        if name in train.model_fields_set:
            lines.append(f"  {name}: {flow(getattr(train, name))}")
    return lines


def _mapping(values: Mapping[str, object]) -> str:
    return "{" + ", ".join(f"{_key(key)}: {flow(value)}" for key, value in values.items()) + "}"


def flow(value: object) -> str:
    """One value in YAML flow style."""
    if isinstance(value, Choice):
        params = value.params()
        return _key(value.kind) if not params else f"{{{_key(value.kind)}: {_mapping(params)}}}"
    if isinstance(value, Ref):
        return f"${value.name}"
    if isinstance(value, BaseModel):
        return _mapping({name: getattr(value, name) for name in type(value).model_fields
                         if name in value.model_fields_set})
    if isinstance(value, tuple | list):
        return "[" + ", ".join(flow(item) for item in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return _string(str(value))


def _key(name: str) -> str:
    return _string(name)


def _string(text: str) -> str:
    if _PLAIN.match(text) and text not in _RESERVED:
        return text
    return '"' + "".join(_escaped(ch) for ch in text) + '"'


def _escaped(ch: str) -> str:
    """One character inside a YAML double-quoted string; invisible and control characters are escaped."""
    if ch in '"\\':
        return "\\" + ch
    if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
        return f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}"
    return ch
